/* Helpers of the C tests: the bytes of a real, tiny block signature. */
#ifndef RHA_TEST_SIGNATURE_UTIL_H
#define RHA_TEST_SIGNATURE_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Writes the block signature of 4 KiB of zeros (1 KiB blocks) into `out`
 * (`room` bytes, enough for it); returns its length. */
size_t tiny_signature(uint8_t *out, size_t room);

#endif
