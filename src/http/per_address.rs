//! At most so many of a thing at once per client address, each held as a [`Slot`] that frees
//! itself when dropped. Two uses: open connections, counted from the moment a TCP connection is
//! accepted (before any TLS handshake) until it closes, so that one address holding thousands
//! of idle sockets cannot fill the server's connection slots (trusted reverse proxies are not
//! capped: every client behind them shares their address); and public exports, one at a time
//! per address. Addresses are grouped as for rate limits (IPv6 by /64).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use super::limit::{client_key, Cidr};

/// Open connections allowed per client address by default: well under the 256 TLS handshakes
/// a worker runs at once (actix-tls), so that one address cannot fill a worker's handshake
/// slots with silent sockets.
pub const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS: usize = 64;

/// What each client address holds.
pub struct AddressCap {
    max: usize,
    exempt: Vec<Cidr>,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One counted thing (a connection, an export); dropping it (when it ends) frees its slot.
pub struct Slot {
    cap: Arc<AddressCap>,
    key: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        let mut open = self.cap.open.lock().expect("per-address counts");
        if let Some(n) = open.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&key);
            }
        }
    }
}

impl AddressCap {
    /// `max` at once per address (0: no cap), not counting the `exempt` networks.
    pub fn new(max: usize, exempt: Vec<Cidr>) -> Arc<AddressCap> {
        Arc::new(AddressCap {
            max,
            exempt,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for `peer`, or `None` when that address already holds the most it may.
    pub fn admit(self: &Arc<Self>, peer: Option<IpAddr>) -> Option<Slot> {
        let key = match peer {
            Some(ip) if self.max > 0 && !self.exempt.iter().any(|c| c.contains(ip)) => {
                client_key(ip)
            }
            _ => {
                return Some(Slot {
                    cap: self.clone(),
                    key: None,
                })
            }
        };
        let mut open = self.open.lock().expect("per-address counts");
        let n = open.entry(key).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Slot {
            cap: self.clone(),
            key: Some(key),
        })
    }

    /// Open connections counted for the address of `ip`.
    #[cfg(test)]
    fn open(&self, ip: IpAddr) -> usize {
        let open = self.open.lock().expect("per-address counts");
        open.get(&client_key(ip)).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_max_and_a_closed_connection_frees_its_slot() {
        let cap = AddressCap::new(2, vec![Cidr::parse("10.0.0.0/8").unwrap()]);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = cap.admit(Some(a)).unwrap();
        let _second = cap.admit(Some(a)).unwrap();
        assert!(cap.admit(Some(a)).is_none());
        assert!(
            cap.admit(Some(b)).is_some(),
            "another address is not affected"
        );
        drop(first);
        assert_eq!(cap.open(a), 1);
        assert!(cap.admit(Some(a)).is_some());
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let held: Vec<_> = (0..10).map(|_| cap.admit(Some(proxy)).unwrap()).collect();
        assert_eq!(held.len(), 10, "trusted proxies are not capped");
        let v6a: IpAddr = "2001:db8::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8::2".parse().unwrap();
        let _x = cap.admit(Some(v6a)).unwrap();
        let _y = cap.admit(Some(v6b)).unwrap();
        assert!(cap.admit(Some(v6a)).is_none(), "IPv6 counted per /64");
    }
}
