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

/// The middleware: public routes pass through the limiter of the server's state.
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<HttpState>>().cloned();
    if let (Some(state), Some(peer)) = (state, req.peer_addr()) {
        if let Err(e) = state.limiter.check(peer.ip()) {
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
