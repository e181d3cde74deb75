// SPDX-License-Identifier: GPL-2.0
//! Ethernet frames the peer answers with or attacks with: ARP replies,
//! ICMP echo replies, UDP datagrams, TCP segments (also as one large GSO
//! frame), and malformed ones. Plain byte building, checked by unit tests.

pub const ETH_HLEN: usize = 14;
pub const ETH_P_IP: u16 = 0x0800;
pub const ETH_P_ARP: u16 = 0x0806;
pub const ETH_P_IPV6: u16 = 0x86dd;
pub const ETH_P_8021Q: u16 = 0x8100;
pub const IPPROTO_ICMP: u8 = 1;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
pub const BROADCAST: [u8; 6] = [0xff; 6];

pub type Mac = [u8; 6];
pub type Ip4 = [u8; 4];

/// The Internet checksum of `data`, starting from the partial sum `sum`.
pub fn csum(data: &[u8], mut sum: u32) -> u16 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u16::from_be_bytes([c[0], c[1]]) as u32;
    }
    if let [last] = chunks.remainder() {
        sum += (*last as u32) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The IPv4 pseudo-header sum (not folded, not inverted).
fn pseudo4(src: Ip4, dst: Ip4, proto: u8, len: usize) -> u32 {
    let mut s = 0u32;
    for w in [src, dst] {
        s += u16::from_be_bytes([w[0], w[1]]) as u32 + u16::from_be_bytes([w[2], w[3]]) as u32;
    }
    s + proto as u32 + len as u32
}

pub fn eth(dst: Mac, src: Mac, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(ETH_HLEN + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An IPv4 header (20 bytes, no options) with its checksum, then `payload`.
pub fn ipv4(src: Ip4, dst: Ip4, proto: u8, id: u16, payload: &[u8]) -> Vec<u8> {
    let total = 20 + payload.len();
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&(total.min(0xffff) as u16).to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&[0x40, 0, 64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let c = csum(&h, 0);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

pub fn udp4(src: Ip4, dst: Ip4, sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
    let len = 8 + data.len();
    let mut u = Vec::with_capacity(len);
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&(len.min(0xffff) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(data);
    let mut c = csum(&u, pseudo4(src, dst, IPPROTO_UDP, len));
    if c == 0 {
        c = 0xffff;
    }
    u[6..8].copy_from_slice(&c.to_be_bytes());
    u
}

/// A TCP segment (ACK|PSH, 20-byte header). With `gso` the checksum field
/// holds only the pseudo-header sum, as TSO leaves it (the descriptor then
/// vouches for it); otherwise the full checksum.
#[allow(clippy::too_many_arguments)]
pub fn tcp4(
    src: Ip4,
    dst: Ip4,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    data: &[u8],
    gso: bool,
) -> Vec<u8> {
    let len = 20 + data.len();
    let mut t = Vec::with_capacity(len);
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(data);
    let ps = pseudo4(src, dst, IPPROTO_TCP, len);
    let c = if gso {
        // Folded, not inverted: CHECKSUM_PARTIAL's seed.
        !csum(&[], ps)
    } else {
        csum(&t, ps)
    };
    t[16..18].copy_from_slice(&c.to_be_bytes());
    t
}

/// What the peer understood of a frame from the victim.
#[derive(Debug, PartialEq, Eq)]
pub enum Rx {
    /// An ARP request for `target`.
    ArpRequest {
        sender_mac: Mac,
        sender_ip: Ip4,
        target: Ip4,
    },
    /// An ICMP echo request to `dst`, with `data_len` bytes of data.
    Echo {
        dst: Ip4,
        data_len: usize,
    },
    Other,
}

pub fn parse(f: &[u8]) -> Rx {
    if f.len() < ETH_HLEN {
        return Rx::Other;
    }
    let ethertype = u16::from_be_bytes([f[12], f[13]]);
    let p = &f[ETH_HLEN..];
    match ethertype {
        ETH_P_ARP if p.len() >= 28 && p[0..8] == [0, 1, 8, 0, 6, 4, 0, 1] => Rx::ArpRequest {
            sender_mac: p[8..14].try_into().unwrap_or_default(),
            sender_ip: p[14..18].try_into().unwrap_or_default(),
            target: p[24..28].try_into().unwrap_or_default(),
        },
        ETH_P_IP if p.len() >= 20 && p[0] >> 4 == 4 => {
            let ihl = (p[0] & 0xf) as usize * 4;
            let total = u16::from_be_bytes([p[2], p[3]]) as usize;
            if ihl < 20 || total < ihl + 8 || total > p.len() || p[9] != IPPROTO_ICMP {
                return Rx::Other;
            }
            let icmp = &p[ihl..total];
            if icmp[0] != 8 || icmp[1] != 0 {
                return Rx::Other;
            }
            Rx::Echo {
                dst: p[16..20].try_into().unwrap_or_default(),
                data_len: icmp.len() - 8,
            }
        }
        _ => Rx::Other,
    }
}

/// The ARP reply telling `to` that `ip` is at `mac`.
pub fn arp_reply(mac: Mac, ip: Ip4, to_mac: Mac, to_ip: Ip4) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4, 0, 2];
    a.extend_from_slice(&mac);
    a.extend_from_slice(&ip);
    a.extend_from_slice(&to_mac);
    a.extend_from_slice(&to_ip);
    eth(to_mac, mac, ETH_P_ARP, &a)
}

/// The echo reply to an echo request frame `req` (addresses swapped, type
/// 0, checksums recomputed), from `mac`.
pub fn echo_reply(req: &[u8], mac: Mac) -> Option<Vec<u8>> {
    let p = req.get(ETH_HLEN..)?;
    let ihl = (p.first()? & 0xf) as usize * 4;
    let total = u16::from_be_bytes([*p.get(2)?, *p.get(3)?]) as usize;
    let icmp = p.get(ihl..total)?;
    let src: Ip4 = p.get(12..16)?.try_into().ok()?;
    let dst: Ip4 = p.get(16..20)?.try_into().ok()?;
    let id = u16::from_be_bytes([p[4], p[5]]);
    let mut reply = icmp.to_vec();
    reply[0] = 0;
    reply[2..4].fill(0);
    let c = csum(&reply, 0);
    reply[2..4].copy_from_slice(&c.to_be_bytes());
    let to: Mac = req[6..12].try_into().ok()?;
    Some(eth(
        to,
        mac,
        ETH_P_IP,
        &ipv4(dst, src, IPPROTO_ICMP, id, &reply),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Mac = [2, 0, 0, 0, 0, 1];
    const B: Mac = [2, 0, 0, 0, 0, 2];
    const IA: Ip4 = [10, 99, 0, 1];
    const IB: Ip4 = [10, 99, 0, 2];

    #[test]
    fn checksum_known_values() {
        // RFC 1071's example: 0x0001 f203 f4f5 f6f7 sums to 0xddf2.
        assert_eq!(csum(&[0, 1, 0xf2, 3, 0xf4, 0xf5, 0xf6, 0xf7], 0), !0xddf2);
        // A header with its checksum sums to zero.
        let ip = ipv4(IA, IB, IPPROTO_UDP, 7, &[]);
        assert_eq!(csum(&ip[..20], 0), 0);
        assert_eq!(csum(&[0xff], 0), !0xff00);
    }

    #[test]
    fn arp_request_and_reply() {
        let mut req = vec![0, 1, 8, 0, 6, 4, 0, 1];
        req.extend_from_slice(&A);
        req.extend_from_slice(&IA);
        req.extend_from_slice(&[0; 6]);
        req.extend_from_slice(&IB);
        let f = eth(BROADCAST, A, ETH_P_ARP, &req);
        assert_eq!(
            parse(&f),
            Rx::ArpRequest {
                sender_mac: A,
                sender_ip: IA,
                target: IB
            }
        );
        let r = arp_reply(B, IB, A, IA);
        assert_eq!(r.len(), 42);
        assert_eq!(&r[0..6], &A);
        assert_eq!(&r[20..22], &[0, 2]);
        assert_eq!(&r[22..28], &B);
        assert_eq!(&r[28..32], &IB);
        // A reply is not a request.
        assert_eq!(parse(&r), Rx::Other);
    }

    #[test]
    fn echo_reply_is_valid() {
        let mut icmp = vec![8, 0, 0, 0, 0x12, 0x34, 0, 1];
        icmp.extend((0..56u8).collect::<Vec<_>>());
        let c = csum(&icmp, 0);
        icmp[2..4].copy_from_slice(&c.to_be_bytes());
        let req = eth(B, A, ETH_P_IP, &ipv4(IA, IB, IPPROTO_ICMP, 1, &icmp));
        assert_eq!(
            parse(&req),
            Rx::Echo {
                dst: IB,
                data_len: 56
            }
        );
        let r = echo_reply(&req, B).expect("reply");
        assert_eq!(r.len(), req.len());
        assert_eq!(&r[0..6], &A);
        assert_eq!(&r[6..12], &B);
        let ip = &r[ETH_HLEN..];
        assert_eq!(csum(&ip[..20], 0), 0, "IP checksum");
        assert_eq!(&ip[12..16], &IB);
        assert_eq!(&ip[16..20], &IA);
        assert_eq!(ip[20], 0, "echo reply");
        assert_eq!(csum(&ip[20..], 0), 0, "ICMP checksum");
        assert_eq!(&ip[24..], &icmp[4..], "id, sequence and data echoed");
        assert!(echo_reply(&req[..20], B).is_none());
    }

    #[test]
    fn udp_and_tcp_checksums() {
        let u = udp4(IA, IB, 9, 9, b"hello");
        assert_eq!(csum(&u, pseudo4(IA, IB, IPPROTO_UDP, u.len())), 0);
        let t = tcp4(IA, IB, 1, 2, 3, 4, &[0xab; 1000], false);
        assert_eq!(csum(&t, pseudo4(IA, IB, IPPROTO_TCP, t.len())), 0);
        // The GSO form holds the folded pseudo-header sum only.
        let g = tcp4(IA, IB, 1, 2, 3, 4, &[0xab; 1000], true);
        let seed = u16::from_be_bytes([g[16], g[17]]);
        assert_eq!(seed, !csum(&[], pseudo4(IA, IB, IPPROTO_TCP, g.len())));
        assert_eq!(&t[..16], &g[..16]);
    }
}
