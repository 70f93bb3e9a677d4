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

/// A client configuration that trusts exactly the certificates in `pem` (for tests and tools).
pub fn client_trusting(pem: &[u8]) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        roots
            .add(cert.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A minimal HTTPS GET for the CLI's auditor: `url` is `https://host[:port]/path`, trusted roots
/// are the PEM certificates in `ca_pem`. Returns the body as a stream (chunked or not).
pub fn https_get(url: &str, ca_pem: &[u8]) -> Result<Box<dyn std::io::Read>, String> {
    use std::io::{BufRead, BufReader, Write};
    let rest = url
        .strip_prefix("https://")
        .ok_or("the URL must start with https://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| "bad port in the URL")?),
        None => (authority, 443),
    };
    let config = Arc::new(client_trusting(ca_pem)?);
    let name = rustls_pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| format!("bad host name: {e}"))?;
    let conn = rustls::ClientConnection::new(config, name).map_err(|e| e.to_string())?;
    let tcp = std::net::TcpStream::connect((host, port))
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nUser-Agent: kpcert\r\n\r\n"
    )
    .map_err(|e| format!("TLS or network error: {e}"))?;
    let mut reader = BufReader::with_capacity(1 << 20, stream);
    let mut status = String::new();
    reader.read_line(&mut status).map_err(|e| e.to_string())?;
    if !status.starts_with("HTTP/1.1 200") {
        return Err(format!("the server answered {}", status.trim()));
    }
    let mut chunked = false;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("transfer-encoding")
                && v.trim().eq_ignore_ascii_case("chunked")
            {
                chunked = true;
            }
        }
    }
    if chunked {
        Ok(Box::new(Chunked {
            inner: reader,
            left: 0,
            done: false,
        }))
    } else {
        Ok(Box::new(reader))
    }
}

/// Decodes an HTTP/1.1 chunked body.
struct Chunked<R> {
    inner: R,
    left: usize,
    done: bool,
}

impl<R: std::io::BufRead> std::io::Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
        if self.done {
            return Ok(0);
        }
        if self.left == 0 {
            let mut line = String::new();
            self.inner.read_line(&mut line)?;
            if line.trim().is_empty() {
                // The CRLF after the previous chunk.
                line.clear();
                self.inner.read_line(&mut line)?;
            }
            let size = line.trim().split(';').next().unwrap_or("");
            self.left = usize::from_str_radix(size, 16).map_err(|_| bad("bad chunk size"))?;
            if self.left == 0 {
                self.done = true;
                return Ok(0);
            }
        }
        let n = buf.len().min(self.left);
        let read = self.inner.read(&mut buf[..n])?;
        if read == 0 {
            return Err(bad("the body ended inside a chunk"));
        }
        self.left -= read;
        Ok(read)
    }
}
