//! TLS for the HTTPS API: the only module that touches `rustls` and `rcgen`.
//!
//! One crypto provider for the whole process, *ring*, passed explicitly to every builder so that
//! no default provider is ever consulted.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::ring;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::keys::KeyDir;

/// A server's TLS configuration (what the HTTP layer listens with).
pub type ServerConfig = rustls::ServerConfig;

/// File names of the self-signed trial certificate in the keys folder.
pub const SELF_SIGNED_CERT: &str = "tls-self-signed.crt";
pub const SELF_SIGNED_KEY: &str = "tls-self-signed.key";

/// The crypto provider used everywhere.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(ring::default_provider())
}

fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<rustls::ServerConfig, String> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the TLS certificate and key do not fit together: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A server configuration from PEM files.
pub fn from_pem_files(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, String> {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read TLS certificate {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read TLS private key {}: {e}", key.display()))?;
    server_config(certs, key)
}

/// A self-signed certificate for `names` (DNS names or IP addresses), kept in the keys folder so
/// that clients can pin it across restarts. Returns the configuration and the certificate path.
pub fn self_signed(
    keys: &KeyDir,
    names: &[String],
) -> Result<(rustls::ServerConfig, std::path::PathBuf), String> {
    let cert_path = keys.path().join(SELF_SIGNED_CERT);
    let key_path = keys.path().join(SELF_SIGNED_KEY);
    if !cert_path.exists() || !key_path.exists() {
        let _ = std::fs::remove_file(&cert_path);
        let _ = std::fs::remove_file(&key_path);
        let generated = rcgen::generate_simple_self_signed(names.to_vec())
            .map_err(|e| format!("cannot generate a self-signed certificate: {e}"))?;
        keys.write_private(
            SELF_SIGNED_KEY,
            generated.key_pair.serialize_pem().as_bytes(),
        )
        .map_err(|e| format!("cannot write {}: {e}", key_path.display()))?;
        std::fs::write(&cert_path, generated.cert.pem())
            .map_err(|e| format!("cannot write {}: {e}", cert_path.display()))?;
    }
    // Read the key through the permission check.
    keys.read_private(SELF_SIGNED_KEY)
        .map_err(|e| format!("cannot read {}: {e}", key_path.display()))?;
    Ok((from_pem_files(&cert_path, &key_path)?, cert_path))
}

/// A client configuration that trusts exactly the certificates in `pem` (a pinned server
/// certificate or private CA).
pub fn client_trusting(pem: &[u8]) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        roots
            .add(cert.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    if roots.is_empty() {
        return Err("no certificate in the PEM file".into());
    }
    client_with_roots(roots)
}

/// A client configuration that trusts the operating system's root certificates.
pub fn client_with_system_roots() -> Result<rustls::ClientConfig, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(format!(
            "no system root certificates could be loaded ({} error(s)); pass --cacert",
            found.errors.len()
        ));
    }
    client_with_roots(roots)
}

fn client_with_roots(roots: rustls::RootCertStore) -> Result<rustls::ClientConfig, String> {
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
