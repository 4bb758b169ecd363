//! Pinned-peer certificate checks, for both sides of a connection: the
//! peer's end-entity certificate must have a fingerprint in the allowed
//! set, be within its validity period now, and be properly self-signed;
//! the handshake signature is then checked with the provider's algorithms.
//! No certificate authority takes part.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, Error, OtherError, SignatureScheme,
};

use super::fingerprint::Fingerprint;

/// A peer refused because its certificate's fingerprint is not allowed:
/// carried inside the rustls error so the caller can name the fingerprint.
#[derive(Debug, thiserror::Error)]
#[error("the peer presented certificate {presented}, which is not among the allowed fingerprints")]
pub(crate) struct NotAllowed {
    /// The fingerprint of the certificate the peer presented.
    pub(crate) presented: Fingerprint,
}

/// Accepts exactly the peers whose certificate fingerprint is allowed.
#[derive(Debug)]
pub(crate) struct PinnedPeers {
    allowed: Vec<Fingerprint>,
    provider: Arc<CryptoProvider>,
}

/// Accepts every extended key usage: the pin, not the usage, decides.
struct AnyUsage;

impl webpki::ExtendedKeyUsageValidator for AnyUsage {
    fn validate(&self, iter: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        // Still refuse a malformed extension.
        for id in iter {
            id?;
        }
        Ok(())
    }
}

/// The rustls error for a certificate webpki refused.
fn certificate_error(e: webpki::Error) -> Error {
    let e = match e {
        webpki::Error::CertExpired { time, not_after } => {
            CertificateError::ExpiredContext { time, not_after }
        }
        webpki::Error::CertNotValidYet { time, not_before } => {
            CertificateError::NotValidYetContext { time, not_before }
        }
        webpki::Error::BadDer | webpki::Error::BadDerTime | webpki::Error::TrailingData(_) => {
            CertificateError::BadEncoding
        }
        webpki::Error::InvalidSignatureForPublicKey => CertificateError::BadSignature,
        other => CertificateError::Other(OtherError(Arc::new(other))),
    };
    Error::InvalidCertificate(e)
}

impl PinnedPeers {
    pub(crate) fn new(allowed: &[Fingerprint], provider: Arc<CryptoProvider>) -> Self {
        Self {
            allowed: allowed.to_vec(),
            provider,
        }
    }

    /// Accepts `cert` if its fingerprint is allowed and it is a valid
    /// self-signed end-entity certificate at `now`.
    fn check(&self, cert: &CertificateDer<'_>, now: UnixTime) -> Result<(), Error> {
        let presented = Fingerprint::of(cert);
        if !self.allowed.contains(&presented) {
            return Err(Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(NotAllowed { presented })),
            )));
        }
        let parsed = webpki::EndEntityCert::try_from(cert).map_err(certificate_error)?;
        // The certificate is its own trust anchor: this checks the
        // validity period at `now` and the self-signature.
        let anchor = webpki::anchor_from_trusted_cert(cert).map_err(certificate_error)?;
        parsed
            .verify_for_usage(
                self.provider.signature_verification_algorithms.all,
                &[anchor],
                &[],
                now,
                AnyUsage,
                None,
                None,
            )
            .map_err(certificate_error)?;
        Ok(())
    }

    fn tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The error for a TLS 1.2 signature: never asked for, as only TLS 1.3 is
/// configured.
fn no_tls12() -> Error {
    Error::General("TLS 1.2 is not supported".to_owned())
}

impl ServerCertVerifier for PinnedPeers {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        self.check(end_entity, now)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        Err(no_tls12())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes()
    }
}

impl ClientCertVerifier for PinnedPeers {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        self.check(end_entity, now)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        Err(no_tls12())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::transport::Identity;

    fn now() -> UnixTime {
        UnixTime::now()
    }

    #[test]
    fn allows_exactly_the_pinned_certificate() {
        let a = Identity::generate().unwrap();
        let b = Identity::generate().unwrap();
        let pins = PinnedPeers::new(&[a.fingerprint()], super::super::tls::provider());
        pins.check(&a.cert(), now()).unwrap();
        let err = pins.check(&b.cert(), now()).unwrap_err();
        let Error::InvalidCertificate(CertificateError::Other(OtherError(inner))) = &err else {
            panic!("{err:?}");
        };
        let refused = inner.downcast_ref::<NotAllowed>().unwrap();
        assert_eq!(refused.presented, b.fingerprint());
    }

    #[test]
    fn refuses_a_pinned_certificate_outside_its_validity() {
        let t = SystemTime::now();
        let day = Duration::from_secs(86_400);
        let expired = Identity::generate_valid(t - 10 * day, t - day).unwrap();
        let future = Identity::generate_valid(t + day, t + 10 * day).unwrap();
        let pins = PinnedPeers::new(
            &[expired.fingerprint(), future.fingerprint()],
            super::super::tls::provider(),
        );
        let e = pins.check(&expired.cert(), now()).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidCertificate(CertificateError::ExpiredContext { .. })
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("expired"), "{e}");
        let e = pins.check(&future.cert(), now()).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidCertificate(CertificateError::NotValidYetContext { .. })
            ),
            "{e:?}"
        );
    }

    #[test]
    fn refuses_a_pinned_certificate_with_a_broken_self_signature() {
        let a = Identity::generate().unwrap();
        let mut der = a.certificate_der().to_vec();
        // The signature is the certificate's last bytes.
        let last = der.len() - 1;
        der[last] ^= 1;
        let broken = CertificateDer::from(der);
        let pins = PinnedPeers::new(&[Fingerprint::of(&broken)], super::super::tls::provider());
        let e = pins.check(&broken, now()).unwrap_err();
        assert!(
            matches!(e, Error::InvalidCertificate(CertificateError::BadSignature)),
            "{e:?}"
        );
    }

    #[test]
    fn refuses_garbage_pinned_bytes_as_bad_encoding() {
        let garbage = CertificateDer::from(b"not a certificate".to_vec());
        let pins = PinnedPeers::new(&[Fingerprint::of(&garbage)], super::super::tls::provider());
        let e = pins.check(&garbage, now()).unwrap_err();
        assert!(
            matches!(e, Error::InvalidCertificate(CertificateError::BadEncoding)),
            "{e:?}"
        );
    }
}
