//! The command line's HTTP client: the only module that touches `reqwest`. HTTPS with the
//! system's root certificates or a pinned one (rustls, ring, as the server), plain HTTP only to
//! a loopback address; timeouts on connecting and on every read, so a stalled server never
//! hangs a command.

use std::io::Read;
use std::net::IpAddr;
use std::time::Duration;

use crate::tls;

/// How long to wait for a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long any one read (headers, or the next bytes of a body) may take.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Url(String),
    #[error("{0}")]
    Tls(String),
    #[error("{url}: {source}")]
    Request { url: String, source: reqwest::Error },
    #[error("{url}: the server answered {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
}

/// Whether the host of `url` (as the HTTP client will connect to it) is a loopback address or
/// `localhost`.
fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A client for `base` (`https://host[:port]` or `http://loopback[:port]`), trusting the
/// certificates in `cacert_pem` when given, else the system's roots.
pub struct Client {
    http: reqwest::blocking::Client,
    base: String,
}

impl Client {
    pub fn new(base: &str, cacert_pem: Option<&[u8]>) -> Result<Client, ClientError> {
        let base = base.trim_end_matches('/').to_owned();
        let must = || {
            ClientError::Url(format!(
                "{base}: the URL must start with https:// (or http:// on loopback)"
            ))
        };
        // The URL as the client will read it: its scheme and the host it connects to are what
        // is checked.
        let parsed = reqwest::Url::parse(&base).map_err(|_| must())?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(ClientError::Url(format!(
                "{base}: a URL with a user name or password is refused; send tokens with --token"
            )));
        }
        let mut builder = reqwest::blocking::Client::builder();
        if parsed.scheme() == "http" {
            if !is_loopback(&parsed) {
                return Err(ClientError::Url(format!(
                    "{base}: plain HTTP is allowed only to a loopback address; use https://"
                )));
            }
        } else if parsed.scheme() == "https" {
            let tls = match cacert_pem {
                Some(pem) => tls::client_trusting(pem),
                None => tls::client_with_system_roots(),
            }
            .map_err(ClientError::Tls)?;
            builder = builder.use_preconfigured_tls(tls).https_only(true);
        } else {
            return Err(must());
        }
        let http = builder
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(READ_TIMEOUT)
            .no_proxy()
            // A redirect could carry a request body off loopback in plain HTTP: none followed.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kpcert/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Tls(e.to_string()))?;
        Ok(Client { http, base })
    }

    /// Sends `method` (GET, POST, DELETE) to `path` with a bearer token and a JSON body;
    /// returns the status and the body text, whatever the status.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: &str,
        json: Option<String>,
    ) -> Result<(u16, String), ClientError> {
        let url = format!("{}{path}", self.base);
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| ClientError::Url(e.to_string()))?;
        let mut request = self.http.request(method, &url).bearer_auth(token);
        if let Some(body) = json {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let response = request.send().map_err(|source| ClientError::Request {
            url: url.clone(),
            source,
        })?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .map_err(|source| ClientError::Request { url, source })?;
        Ok((status, text))
    }

    /// GETs `path` and returns the body as a stream; any status but 200 is an error.
    pub fn get(&self, path: &str, token: Option<&str>) -> Result<impl Read, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.get(&url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().map_err(|source| ClientError::Request {
            url: url.clone(),
            source,
        })?;
        let status = response.status().as_u16();
        if status != 200 {
            let body = response.text().unwrap_or_default();
            return Err(ClientError::Status {
                url,
                status,
                body: body.chars().take(500).collect(),
            });
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_goes_only_to_loopback_whatever_the_url_says() {
        for ok in [
            "http://127.0.0.1:8443/x",
            "http://[::1]:8443",
            "http://localhost:8443",
            "https://kp.example.org",
        ] {
            assert!(Client::new(ok, None).is_ok(), "{ok}");
        }
        for bad in [
            "http://192.0.2.1:80",
            "ftp://x",
            // A user name in front of the host: the client would connect to 192.0.2.2 in
            // plain HTTP and send the token there.
            "http://[::1]@192.0.2.2:18084",
            "http://localhost:1@192.0.2.2",
            "http://127.0.0.1@192.0.2.2",
            "https://user:pass@kp.example.org",
        ] {
            assert!(Client::new(bad, None).is_err(), "{bad}");
        }
    }
}
