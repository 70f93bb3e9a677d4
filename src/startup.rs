//! Starting the service, shared by the command line and the tests: open the application on its
//! folders, choose TLS, bind, serve. Tests bind port 0 and talk to the real server over real
//! TLS; the CLI runs the same code until it is stopped.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::app::App;
use crate::http::{self, Options, Running};
use crate::keys::KeyDir;
use crate::tls;

/// How the server speaks.
#[derive(Clone, Debug)]
pub enum Tls {
    /// Plain HTTP (loopback only, unless the operator insists).
    None,
    /// HTTPS with a PEM certificate chain and key.
    Files { cert: PathBuf, key: PathBuf },
    /// HTTPS with a self-signed certificate kept in the keys folder (trials, the demo, tests).
    SelfSigned,
}

/// The names a self-signed certificate for `listen` covers.
pub fn self_signed_names(listen: SocketAddr) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let ip = listen.ip().to_string();
    if !listen.ip().is_unspecified() && !names.contains(&ip) {
        names.push(ip);
    }
    names
}

/// The TLS configuration for `mode`, and the self-signed certificate's path if one is used.
pub fn tls_config(
    mode: &Tls,
    keys_dir: &Path,
    listen: SocketAddr,
) -> Result<Option<(tls::ServerConfig, Option<PathBuf>)>, String> {
    match mode {
        Tls::None => Ok(None),
        Tls::Files { cert, key } => Ok(Some((tls::from_pem_files(cert, key)?, None))),
        Tls::SelfSigned => {
            let keys = KeyDir::open(keys_dir).map_err(|e| e.to_string())?;
            let (config, path) = tls::self_signed(&keys, &self_signed_names(listen))?;
            Ok(Some((config, Some(path))))
        }
    }
}

/// Binds `listen` (before anything is opened or printed, so a busy port fails first).
pub fn bind(listen: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))
}

/// Starts the server on `listen` (port 0 picks one) on threads of its own; for tests and tools.
pub fn spawn(
    app: Arc<App>,
    listen: SocketAddr,
    tls: Option<tls::ServerConfig>,
    options: &Options,
) -> Result<Running, String> {
    let listener = bind(listen)?;
    http::start(app, listener, tls, options).map_err(|e| format!("cannot serve: {e}"))
}

/// Serves until stopped (SIGINT or SIGTERM when `options.handle_signals`), then closes the
/// ledger after the queued work.
pub fn run(
    app: Arc<App>,
    listener: TcpListener,
    tls: Option<tls::ServerConfig>,
    options: &Options,
) -> Result<(), String> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(address = %listener.local_addr().map_err(|e| e.to_string())?, scheme, "serving");
    let result = http::run(app.clone(), listener, tls, options);
    app.close();
    result.map_err(|e| format!("server error: {e}"))
}
