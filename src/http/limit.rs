//! Per-client rate limiting of the public endpoints, as middleware: a token bucket per client
//! address (IPv4 addresses one by one, IPv6 by /64), refilled by the injected clock so that tests
//! are deterministic. Past the limit: 429 with `Retry-After: 1`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::web;

use super::error::ApiError;
use super::HttpState;
use crate::clock::SharedClock;

/// Most clients tracked at once; past it, full buckets are swept at most once a second, and if
/// that is not enough the table starts afresh (briefly lenient rather than locking people out).
const MAX_TRACKED_CLIENTS: usize = 100_000;

/// Per-client token buckets.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    clock: SharedClock,
    buckets: Mutex<Buckets>,
}

struct Buckets {
    /// Tokens left and when they were counted (clock ms).
    map: HashMap<IpAddr, (f64, u64)>,
    last_sweep_ms: u64,
}

/// The bucket a client address falls in: IPv4 addresses one by one, IPv6 by /64 (one site).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl RateLimiter {
    /// `per_second` requests a second per client with bursts of twice that; 0 disables.
    pub fn new(per_second: f64, clock: SharedClock) -> RateLimiter {
        RateLimiter {
            per_second,
            burst: (per_second * 2.0).max(1.0),
            buckets: Mutex::new(Buckets {
                map: HashMap::new(),
                last_sweep_ms: clock.now_ms(),
            }),
            clock,
        }
    }

    /// Takes one token of `ip`'s bucket, or refuses.
    pub fn check(&self, ip: IpAddr) -> Result<(), ApiError> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let ip = client_key(ip);
        let now = self.clock.now_ms();
        let refill = |tokens: f64, at: u64| {
            (tokens + now.saturating_sub(at) as f64 / 1000.0 * self.per_second).min(self.burst)
        };
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.map.len() > MAX_TRACKED_CLIENTS
            && now.saturating_sub(buckets.last_sweep_ms) >= 1000
        {
            let burst = self.burst;
            buckets
                .map
                .retain(|_, (tokens, at)| refill(*tokens, *at) < burst);
            if buckets.map.len() > MAX_TRACKED_CLIENTS {
                buckets.map.clear();
            }
            buckets.last_sweep_ms = now;
        }
        let (tokens, at) = buckets.map.entry(ip).or_insert((self.burst, now));
        *tokens = refill(*tokens, *at);
        *at = now;
        if *tokens < 1.0 {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests from this address; retry in a second",
            ));
        }
        *tokens -= 1.0;
        Ok(())
    }
}

/// A network given as `address/prefix length`, e.g. `10.0.0.0/8` or `fd00::/8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    bits: u8,
}

impl Cidr {
    /// Parses `address/bits` (or a bare address: one host).
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, bits) = match s.split_once('/') {
            Some((a, b)) => (a.parse::<IpAddr>().ok()?, b.parse::<u8>().ok()?),
            None => {
                let a = s.parse::<IpAddr>().ok()?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (bits <= max).then_some(Cidr {
            network: addr,
            bits,
        })
    }

    /// Whether `ip` is in this network. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, how a
    /// dual-stack listener sees IPv4 peers) is compared as the IPv4 address it maps.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let (a, b, len) = match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => (
                u128::from(u32::from(n)) << 96,
                u128::from(u32::from(i)) << 96,
                self.bits as u32,
            ),
            (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), self.bits as u32),
            _ => return false,
        };
        len == 0 || (a ^ b) >> (128 - len) == 0
    }
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the last address in
/// `X-Forwarded-For` that is not itself a trusted proxy. Off (the peer) unless the operator
/// names trusted proxies.
pub fn client_ip(req: &actix_web::HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let trusted = req
        .app_data::<web::Data<HttpState>>()
        .map(|s| s.trusted_proxies.as_slice())
        .unwrap_or_default();
    if !trusted.iter().any(|c| c.contains(peer)) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted.iter().any(|c| c.contains(*ip)))
            .unwrap_or(peer),
    )
}

/// Whether the route a request matches is `public` (rate limited) in the route table.
fn is_public(req: &ServiceRequest) -> bool {
    super::matched(req).is_some_and(|m| m.public)
}

/// The middleware: requests to `public` routes pass through the limiter of the server's state.
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<HttpState>>().cloned();
    if let (Some(state), Some(ip), true) = (state, client_ip(req.request()), is_public(&req)) {
        if let Err(e) = state.limiter.check(ip) {
            crate::metrics::global().rate_limited();
            return Ok(req.into_response(e.response()));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn clients_are_counted_per_ipv4_address_and_per_ipv6_slash_64() {
        let key = |s: &str| client_key(s.parse().unwrap()).to_string();
        assert_eq!(key("192.0.2.7"), "192.0.2.7");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::");
        assert_eq!(key("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::");
        assert_eq!(key("::ffff:192.0.2.7"), "192.0.2.7");
    }

    #[test]
    fn networks() {
        let proxy = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(
            proxy.contains("::ffff:10.1.2.3".parse().unwrap()),
            "a dual-stack listener sees IPv4 proxies as IPv4-mapped IPv6"
        );
        let net = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(!net.contains("::1".parse().unwrap()));
        let v6 = Cidr::parse("fd00::/8").unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("fe80::1".parse().unwrap()));
        assert!(Cidr::parse("127.0.0.1")
            .unwrap()
            .contains("127.0.0.1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nonsense").is_none());
    }

    #[test]
    fn a_bucket_holds_a_burst_and_refills_with_the_clock() {
        let clock = ManualClock::at(1_000_000);
        let limiter = RateLimiter::new(2.0, clock.clone());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..4 {
            assert!(limiter.check(ip).is_ok());
        }
        assert!(limiter.check(ip).is_err(), "burst of 4 spent");
        assert!(
            limiter.check(other).is_ok(),
            "another client has its own bucket"
        );
        clock.advance(500);
        assert!(limiter.check(ip).is_ok(), "half a second refills one token");
        assert!(limiter.check(ip).is_err());
    }
}
