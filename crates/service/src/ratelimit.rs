//! Attempts per client address: a token bucket per address, in memory. It slows guessing
//! and mass sign-ups from one address on one server; it is no firewall. IPv6 clients are
//! counted by their /64, which one client usually holds whole.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most addresses remembered. Past it, addresses whose bucket is full again are
/// forgotten, then all: under a flood from that many addresses the limiter starts over
/// rather than grow without bound.
const CAPACITY: usize = 100_000;

/// `count` attempts per `per` from one address; a `count` of 0 turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub count: u32,
    pub per: Duration,
}

impl RateLimit {
    pub const OFF: Self = Self {
        count: 0,
        per: Duration::from_secs(60),
    };

    pub fn per_minute(count: u32) -> Self {
        Self {
            count,
            per: Duration::from_secs(60),
        }
    }

    pub fn per_hour(count: u32) -> Self {
        Self {
            count,
            per: Duration::from_secs(3600),
        }
    }

    /// "20 a minute", "5 an hour", for messages.
    pub fn describe(&self) -> String {
        match self.per.as_secs() {
            60 => format!("{} a minute", self.count),
            3600 => format!("{} an hour", self.count),
            s => format!("{} every {s} seconds", self.count),
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct AddressLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl AddressLimiter {
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::default(),
        }
    }

    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Takes one attempt of `addr`'s; when none is left, the seconds until one is.
    pub fn take(&self, addr: IpAddr) -> Result<(), u64> {
        self.take_at(addr, Instant::now())
    }

    fn take_at(&self, addr: IpAddr, now: Instant) -> Result<(), u64> {
        if self.limit.count == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.limit.count);
        let rate = capacity / self.limit.per.as_secs_f64();
        let refilled = |b: &Bucket| {
            (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate).min(capacity)
        };
        let key = client_key(addr);
        let mut buckets = self.buckets.lock().expect("rate limiter");
        if buckets.len() >= CAPACITY && !buckets.contains_key(&key) {
            buckets.retain(|_, b| refilled(b) < capacity);
            if buckets.len() >= CAPACITY {
                buckets.clear();
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        bucket.tokens = refilled(bucket);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

/// What one client is counted as: its IPv4 address, or the /64 of its IPv6 address.
fn client_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_address_gets_its_burst_then_waits_for_the_refill() {
        let limiter = AddressLimiter::new(RateLimit::per_minute(3));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take_at(ip("192.0.2.1"), t0), Ok(()));
        }
        assert!(matches!(limiter.take_at(ip("192.0.2.1"), t0), Err(20 | 21)));
        assert_eq!(limiter.take_at(ip("192.0.2.2"), t0), Ok(()));
        let later = t0 + Duration::from_secs(21);
        assert_eq!(limiter.take_at(ip("192.0.2.1"), later), Ok(()));
        assert!(matches!(
            limiter.take_at(ip("192.0.2.1"), later),
            Err(19 | 20)
        ));
    }

    #[test]
    fn ipv6_clients_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        let limiter = AddressLimiter::new(RateLimit::per_hour(1));
        let t0 = Instant::now();
        assert_eq!(limiter.take_at(ip("2001:db8:1:2::1"), t0), Ok(()));
        assert!(limiter.take_at(ip("2001:db8:1:2::ffff"), t0).is_err());
        assert_eq!(limiter.take_at(ip("2001:db8:1:3::1"), t0), Ok(()));
        assert_eq!(limiter.take_at(ip("192.0.2.7"), t0), Ok(()));
        assert!(matches!(
            limiter.take_at(ip("::ffff:192.0.2.7"), t0),
            Err(3600 | 3601)
        ));
    }

    #[test]
    fn a_limit_of_zero_is_off() {
        let limiter = AddressLimiter::new(RateLimit::OFF);
        for _ in 0..1000 {
            assert_eq!(limiter.take(ip("192.0.2.1")), Ok(()));
        }
    }

    #[test]
    fn the_map_stays_bounded() {
        let limiter = AddressLimiter::new(RateLimit::per_minute(5));
        let t0 = Instant::now();
        for i in 0..CAPACITY as u32 + 10 {
            let _ = limiter.take_at(IpAddr::V4(i.into()), t0);
        }
        assert!(limiter.buckets.lock().unwrap().len() <= CAPACITY);
    }
}
