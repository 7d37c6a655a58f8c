use super::*;

/// The textbook algorithm, 16 bits at a time: the oracle for the fast [`sum`].
fn reference_sum(data: &[u8]) -> u32 {
    let mut acc: u64 = 0;
    let mut pairs = data.chunks_exact(2);
    for pair in &mut pairs {
        acc += u64::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = pairs.remainder() {
        acc += u64::from(u16::from_be_bytes([*last, 0]));
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u32
}

/// A small deterministic linear congruential generator (Knuth's MMIX constants).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// The IPv4 header used as an example in many texts; its checksum is 0xb861.
const IPV4_HEADER: [u8; 20] = [
    0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01,
    0xc0, 0xa8, 0x00, 0xc7,
];

#[test]
fn rfc1071_example() {
    // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to 2ddf0, folded ddf2.
    let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
    assert_eq!(sum(&data), 0xddf2);
    assert_eq!(fold(sum(&data)), 0x220d);
    assert_eq!(checksum(&data), 0x220d);
}

#[test]
fn empty_and_zero_data() {
    assert_eq!(sum(&[]), 0);
    assert_eq!(sum(&[0; 37]), 0);
    assert_eq!(checksum(&[]), 0xffff);
}

#[test]
fn all_ones_stays_negative_zero() {
    // 0xffff + 0xffff = 0x1fffe, folded 0xffff: never wraps to zero.
    assert_eq!(sum(&[0xff; 4]), 0xffff);
    assert_eq!(sum(&[0xff; 1001]), reference_sum(&[0xff; 1001]));
}

#[test]
fn odd_lengths_pad_with_zero() {
    assert_eq!(sum(&[0xab]), 0xab00);
    assert_eq!(sum(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
    let data = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09];
    assert_eq!(sum(&data), reference_sum(&data));
}

#[test]
fn ipv4_header_checksum() {
    let mut header = IPV4_HEADER;
    header[10] = 0;
    header[11] = 0;
    assert_eq!(checksum(&header), 0xb861);
    // Summing the packet with its correct checksum included folds to zero.
    assert_eq!(fold(sum(&IPV4_HEADER)), 0);
    assert!(verify(&IPV4_HEADER));
    let mut corrupted = IPV4_HEADER;
    corrupted[15] ^= 0x01;
    assert!(!verify(&corrupted));
}

#[test]
fn fast_sum_matches_reference() {
    let mut rng = Lcg(0x5eed);
    for len in (0..300).chain([1499, 1500, 1514, 4096, 9001, 65_535, 65_536]) {
        let data = rng.bytes(len);
        assert_eq!(sum(&data), reference_sum(&data), "length {len}");
        // Unaligned starts too.
        if len > 3 {
            assert_eq!(
                sum(&data[3..]),
                reference_sum(&data[3..]),
                "length {len} at 3"
            );
        }
    }
    for _ in 0..200 {
        let len = (rng.next() % 3000) as usize;
        let data = rng.bytes(len);
        assert_eq!(sum(&data), reference_sum(&data), "length {len}");
    }
}

#[test]
fn fast_sum_matches_reference_across_blocks() {
    // Longer than one accumulator block, with a tail: exercises the block reduction.
    let mut rng = Lcg(7);
    let data = rng.bytes(BLOCK_LEN * 2 + 13);
    assert_eq!(sum(&data), reference_sum(&data));
    let ones = vec![0xff; BLOCK_LEN + 6];
    assert_eq!(sum(&ones), reference_sum(&ones));
}

#[test]
fn combine_joins_pieces() {
    let mut rng = Lcg(42);
    for _ in 0..200 {
        let len = (rng.next() % 200) as usize;
        let data = rng.bytes(len);
        let split = if len == 0 {
            0
        } else {
            (rng.next() as usize) % (len + 1)
        };
        let (front, back) = data.split_at(split);
        let whole = sum(&data);
        assert_eq!(combine_at(sum(front), front.len(), sum(back)), whole);
        if split % 2 == 0 {
            assert_eq!(combine(sum(front), sum(back)), whole);
        }
    }
    // Arbitrary u32 inputs do not overflow.
    assert_eq!(combine(u32::MAX, u32::MAX), reference_sum(&[0xff; 16]));
    assert_eq!(fold(u32::MAX), 0);
}

#[test]
fn pseudo_header_matches_bytes() {
    let src = Ipv4Addr::new(192, 168, 0, 1);
    let dst = Ipv4Addr::new(10, 255, 3, 200);
    let length: u16 = 0x1234;
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&src.octets());
    bytes.extend_from_slice(&dst.octets());
    bytes.extend_from_slice(&[0, 6]);
    bytes.extend_from_slice(&length.to_be_bytes());
    assert_eq!(pseudo_header_v4(src, dst, 6, length), sum(&bytes));
    let max = Ipv4Addr::new(255, 255, 255, 255);
    assert_eq!(
        pseudo_header_v4(max, max, 255, u16::MAX),
        reference_sum(&[255, 255, 255, 255, 255, 255, 255, 255, 0, 255, 255, 255])
    );
}

#[test]
fn udp_checksum_round_trip() {
    // A UDP datagram 192.168.0.1:1234 -> 192.168.0.199:80 with payload "hello": fill in the
    // checksum, then check that the receiver's sum over pseudo-header and datagram folds to zero.
    let src = Ipv4Addr::new(192, 168, 0, 1);
    let dst = Ipv4Addr::new(192, 168, 0, 199);
    let mut datagram = vec![0x04, 0xd2, 0x00, 0x50, 0x00, 0x0d, 0x00, 0x00];
    datagram.extend_from_slice(b"hello");
    let len = datagram.len() as u16;
    let pseudo = pseudo_header_v4(src, dst, 17, len);
    let csum = fold(combine(pseudo, sum(&datagram)));
    datagram[6..8].copy_from_slice(&csum.to_be_bytes());
    assert_eq!(fold(combine(pseudo, sum(&datagram))), 0);
}
