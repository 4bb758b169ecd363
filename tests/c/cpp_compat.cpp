// C++ compatibility check: include/rha.h must compile as C++ (extern "C",
// enums with a fixed underlying type) and link; tests/c/run.sh builds this
// with -Wall -Wextra -Werror and runs it.
#include "rha.h"

#include <cstdio>
#include <cstring>
#include <vector>

int main()
{
    static_assert(RHA_VERSION_NUMBER ==
                      RHA_VERSION_MAJOR * 10000 + RHA_VERSION_MINOR * 100 + RHA_VERSION_PATCH,
                  "version macros");
    static_assert(sizeof(rha_result) == 4 && sizeof(rha_op) == 4, "32-bit enums");

    rha_journal_writer *writer = nullptr;
    if (rha_journal_writer_build(rha_journal_writer_builder_new(), &writer, nullptr) != RHA_OK) {
        return 1;
    }
    rha_record rec;
    rha_record_init(&rec);
    rec.op = RHA_OP_SYMLINK;
    const char *path = "link";
    const char *target = "../target";
    rec.path.ptr = reinterpret_cast<const uint8_t *>(path);
    rec.path.len = std::strlen(path);
    rec.data.ptr = reinterpret_cast<const uint8_t *>(target);
    rec.data.len = std::strlen(target);
    uint64_t seq = 0;
    rha_error *error = nullptr;
    rha_result rc = rha_journal_writer_append(writer, &rec, &seq, &error);
    if (rc != RHA_OK) {
        std::fprintf(stderr, "%s: %s\n", rha_result_name(rc), rha_error_message(error));
        rha_error_free(error);
        return 1;
    }
    rha_journal_writer_flush(writer, nullptr);
    std::vector<uint8_t> bytes(rha_journal_writer_pending(writer));
    rha_out_buffer out = {bytes.data(), bytes.size(), 0};
    rc = rha_journal_writer_drain(writer, &out, nullptr);
    rha_journal_writer_free(writer);
    if (rc != RHA_OK || out.pos != bytes.size()) {
        return 1;
    }

    rha_journal_reader *reader = nullptr;
    if (rha_journal_reader_build(rha_journal_reader_builder_new(), &reader, nullptr) != RHA_OK) {
        return 1;
    }
    rha_in_buffer in = {bytes.data(), bytes.size(), 0};
    rha_record got;
    rha_record_init(&got);
    rc = rha_journal_reader_next(reader, &in, &got, nullptr);
    bool same = rc == RHA_OK && got.seq == seq && got.op == RHA_OP_SYMLINK &&
                got.data.len == rec.data.len &&
                std::memcmp(got.data.ptr, target, got.data.len) == 0;
    rha_journal_end end = {};
    end.struct_size = sizeof end;
    rc = rha_journal_reader_next(reader, &in, &got, nullptr);
    same = same && rc == RHA_BLOCKED && rha_journal_reader_finish(reader, &end, nullptr) == RHA_OK;
    rha_journal_reader_free(reader);
    if (!same || end.torn != 0 || end.offset != bytes.size()) {
        std::fprintf(stderr, "C++ round trip failed\n");
        return 1;
    }
    std::printf("ok - C++ includes rha.h, links and round-trips a record\n");
    return 0;
}
