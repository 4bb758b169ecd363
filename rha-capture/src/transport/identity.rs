//! A node's identity: an Ed25519 key pair and a self-signed certificate
//! over it, kept as two PEM files in a directory (`key.pem`, private, mode
//! 0600; `cert.pem`, public). Peers pin it by the certificate's
//! [`Fingerprint`].

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use super::fingerprint::Fingerprint;

/// The private key's file name in an identity directory.
pub const KEY_FILE: &str = "key.pem";
/// The certificate's file name in an identity directory.
pub const CERT_FILE: &str = "cert.pem";

/// A key pair and the self-signed certificate that carries its public half.
///
/// ```
/// use rha_capture::transport::Identity;
///
/// let dir = tempfile::tempdir()?;
/// let made = Identity::generate()?;
/// made.save(dir.path(), false)?;
/// let loaded = Identity::load(dir.path())?;
/// assert_eq!(loaded.fingerprint(), made.fingerprint());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Identity {
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    fingerprint: Fingerprint,
    /// The files' contents, as written by [`save`](Self::save).
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Identity")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Self {
            cert: self.cert.clone(),
            key: self.key.clone_key(),
            fingerprint: self.fingerprint,
            cert_pem: self.cert_pem.clone(),
            key_pem: self.key_pem.clone(),
        }
    }
}

/// Why an identity could not be made, read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// A file of the identity does not exist.
    #[error("{}: no such file (`rha keygen DIR` makes an identity)", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// A file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The reason.
        source: io::Error,
    },
    /// A file holds no valid PEM section of the expected kind.
    #[error("{}: not a PEM {what}: {reason}", path.display())]
    BadPem {
        /// The file.
        path: PathBuf,
        /// What was expected: "certificate" or "private key".
        what: &'static str,
        /// What the PEM reader said.
        reason: String,
    },
    /// The key is not usable, or is not the key of the certificate.
    #[error("{}: {reason} (certificate {})", key.display(), cert.display())]
    KeyMismatch {
        /// The key file.
        key: PathBuf,
        /// The certificate file.
        cert: PathBuf,
        /// What did not fit.
        reason: String,
    },
    /// The directory already holds an identity file and overwriting was not
    /// asked for.
    #[error("{}: exists already; refusing to overwrite an identity", path.display())]
    Exists {
        /// The existing file.
        path: PathBuf,
    },
    /// A file or the directory could not be written.
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The reason.
        source: io::Error,
    },
    /// The key or the certificate could not be generated.
    #[error("cannot generate an identity: {reason}")]
    Generate {
        /// What the generator said.
        reason: String,
    },
}

/// Seconds since the epoch as a certificate date.
fn cert_time(t: SystemTime) -> Result<time::OffsetDateTime, IdentityError> {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok());
    secs.ok_or_else(|| IdentityError::Generate {
        reason: format!("{t:?} is outside the dates a certificate can carry"),
    })
}

fn gen_err(e: rcgen::Error) -> IdentityError {
    IdentityError::Generate {
        reason: e.to_string(),
    }
}

impl Identity {
    /// A new Ed25519 key and a self-signed certificate for it, valid from
    /// 1975-01-01 to 4096-01-01 (rcgen's defaults): a pinned identity is
    /// retired by removing its fingerprint from the peers' lists, not by
    /// expiry.
    pub fn generate() -> Result<Self, IdentityError> {
        Self::build(None)
    }

    /// As [`generate`](Self::generate), with the certificate valid only
    /// from `not_before` to `not_after` (whole seconds). Peers refuse it
    /// outside that period.
    pub fn generate_valid(
        not_before: SystemTime,
        not_after: SystemTime,
    ) -> Result<Self, IdentityError> {
        Self::build(Some((cert_time(not_before)?, cert_time(not_after)?)))
    }

    fn build(
        validity: Option<(time::OffsetDateTime, time::OffsetDateTime)>,
    ) -> Result<Self, IdentityError> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).map_err(gen_err)?;
        let mut params = rcgen::CertificateParams::new(vec!["rha".to_owned()]).map_err(gen_err)?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "rha node");
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        if let Some((not_before, not_after)) = validity {
            params.not_before = not_before;
            params.not_after = not_after;
        }
        let cert = params.self_signed(&key).map_err(gen_err)?;
        let key_der = PrivateKeyDer::try_from(key.serialize_der()).map_err(|reason| {
            IdentityError::Generate {
                reason: reason.to_owned(),
            }
        })?;
        Ok(Self {
            fingerprint: Fingerprint::of(cert.der()),
            cert: cert.der().clone(),
            key: key_der,
            cert_pem: cert.pem().into_bytes(),
            key_pem: key.serialize_pem().into_bytes(),
        })
    }

    /// Reads `dir/key.pem` and `dir/cert.pem` and checks that the key is
    /// the certificate's. Errors name the file and say what is wrong with
    /// it: missing, unreadable, not PEM, or not matching.
    pub fn load(dir: &Path) -> Result<Self, IdentityError> {
        let key_path = dir.join(KEY_FILE);
        let cert_path = dir.join(CERT_FILE);
        let cert_pem = read(&cert_path)?;
        let key_pem = read(&key_path)?;
        let cert =
            CertificateDer::from_pem_slice(&cert_pem).map_err(|e| IdentityError::BadPem {
                path: cert_path.clone(),
                what: "certificate",
                reason: e.to_string(),
            })?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| IdentityError::BadPem {
            path: key_path.clone(),
            what: "private key",
            reason: e.to_string(),
        })?;
        if let Ok(meta) = fs::metadata(&key_path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    path = %key_path.display(),
                    "the private key can be read by other users (mode {:o}); it should be 0600",
                    meta.permissions().mode() & 0o777
                );
            }
        }
        let identity = Self {
            fingerprint: Fingerprint::of(&cert),
            cert,
            key,
            cert_pem,
            key_pem,
        };
        identity
            .certified_key(&super::tls::provider())
            .map_err(|reason| IdentityError::KeyMismatch {
                key: key_path,
                cert: cert_path,
                reason,
            })?;
        Ok(identity)
    }

    /// Writes the identity into `dir` (created, mode 0700, if missing):
    /// `key.pem` with mode 0600, then `cert.pem`. Each file is written to a
    /// temporary file, synced and renamed into place, then the directory is
    /// synced, so a crash leaves each file either whole or as it was.
    ///
    /// Refuses with [`IdentityError::Exists`] if either file exists, unless
    /// `overwrite`.
    pub fn save(&self, dir: &Path, overwrite: bool) -> Result<(), IdentityError> {
        let key_path = dir.join(KEY_FILE);
        let cert_path = dir.join(CERT_FILE);
        if !overwrite {
            for path in [&key_path, &cert_path] {
                if fs::symlink_metadata(path).is_ok() {
                    return Err(IdentityError::Exists { path: path.clone() });
                }
            }
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| IdentityError::Write {
                path: dir.to_path_buf(),
                source,
            })?;
        write_atomic(&key_path, &self.key_pem, 0o600)?;
        write_atomic(&cert_path, &self.cert_pem, 0o644)?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| IdentityError::Write {
                path: dir.to_path_buf(),
                source,
            })
    }

    /// The fingerprint peers pin this identity by.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The certificate, DER-encoded.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert
    }

    /// The certificate as rustls presents it.
    pub(crate) fn cert(&self) -> CertificateDer<'static> {
        self.cert.clone()
    }

    /// The key and certificate ready for rustls, checked to belong
    /// together.
    pub(crate) fn certified_key(
        &self,
        provider: &CryptoProvider,
    ) -> Result<Arc<CertifiedKey>, String> {
        let signer = provider
            .key_provider
            .load_private_key(self.key.clone_key())
            .map_err(|e| format!("unusable private key: {e}"))?;
        let certified = CertifiedKey::new(vec![self.cert()], signer);
        certified
            .keys_match()
            .map_err(|e| format!("the private key is not the certificate's key: {e}"))?;
        Ok(Arc::new(certified))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, IdentityError> {
    fs::read(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => IdentityError::Missing {
            path: path.to_path_buf(),
        },
        _ => IdentityError::Read {
            path: path.to_path_buf(),
            source,
        },
    })
}

/// Writes `bytes` to a new temporary file beside `path` with `mode`, syncs
/// it and renames it over `path`.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), IdentityError> {
    let err = |source| IdentityError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp_name);
    let _ = fs::remove_file(&tmp);
    let result = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .and_then(|mut f| {
            // The mode given at creation is filtered by the umask; set it
            // exactly.
            f.set_permissions(fs::Permissions::from_mode(mode))?;
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(err)
}
