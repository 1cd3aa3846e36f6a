//! Whether something answers at an endpoint on this machine: a TCP connect with a short
//! timeout, asked once per distinct emulator endpoint before the first call, so "the
//! emulators are not running" is said as such, naming the endpoint. Must not send
//! anything, or probe any address off this machine.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::endpoint::is_loopback;

/// How long one connect may take: a listening loopback port answers in microseconds.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// `host:port` of a URL, with the scheme's port when none is written.
fn socket_addr(url: &str) -> Option<SocketAddr> {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let default_port = if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    };
    let with_port = if host_port.ends_with(']') || !host_port.contains(':') {
        format!("{host_port}:{default_port}")
    } else {
        host_port.to_owned()
    };
    with_port.to_socket_addrs().ok()?.next()
}

/// True when `url` is a loopback endpoint and nothing accepts connections there. A URL
/// off this machine is never probed (and reported as not refused).
pub fn refused(url: &str) -> bool {
    if !is_loopback(url) {
        return false;
    }
    match socket_addr(url) {
        Some(addr) => TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).is_err(),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_loopback_port_is_refused_and_a_listening_one_is_not() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        assert!(!refused(&format!("http://127.0.0.1:{port}")));
        drop(listener);
        assert!(refused(&format!("http://127.0.0.1:{port}/")));
    }

    #[test]
    fn an_endpoint_off_this_machine_is_never_probed() {
        assert!(!refused("http://192.0.2.1:9"));
    }
}
