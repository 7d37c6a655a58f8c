//! The test pattern the examples send and check: byte `i` of a stream is `(i % 251) as u8`
//! (251 is prime, so the pattern does not line up with any power-of-two buffer or segment
//! size, and a byte lost, duplicated or moved shows up at once).

use std::sync::OnceLock;

use bytes::Bytes;

/// The longest chunk [`chunk`] hands out.
pub const CHUNK: usize = 64 * 1024;

const PERIOD: u64 = 251;

/// The pattern from offset 0 to `CHUNK + PERIOD`: any chunk is a slice of it.
fn table() -> &'static Bytes {
    static TABLE: OnceLock<Bytes> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..CHUNK as u64 + PERIOD)
            .map(|i| (i % PERIOD) as u8)
            .collect::<Vec<u8>>()
            .into()
    })
}

/// The pattern's bytes at stream offsets `offset..offset + len` (`len` at most [`CHUNK`]),
/// sharing one buffer (no copy).
pub fn chunk(offset: u64, len: usize) -> Bytes {
    assert!(len <= CHUNK, "a pattern chunk is at most {CHUNK} bytes");
    let start = (offset % PERIOD) as usize;
    table().slice(start..start + len)
}

/// The first `len` bytes of the pattern.
pub fn vec(len: usize) -> Vec<u8> {
    (0..len as u64).map(|i| (i % PERIOD) as u8).collect()
}

/// Checks a stream against the pattern, piece by piece.
#[derive(Debug, Default)]
pub struct Checker {
    offset: u64,
    first_mismatch: Option<u64>,
}

impl Checker {
    /// Checks the next `data` of the stream.
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let n = data.len().min(CHUNK);
            let expected = chunk(self.offset, n);
            if self.first_mismatch.is_none() && data[..n] != expected[..] {
                let at = data[..n]
                    .iter()
                    .zip(expected.iter())
                    .position(|(a, b)| a != b);
                self.first_mismatch = Some(self.offset + at.unwrap_or(0) as u64);
            }
            self.offset += n as u64;
            data = &data[n..];
        }
    }

    /// How many bytes were checked.
    pub fn len(&self) -> u64 {
        self.offset
    }

    /// The offset of the first byte that did not match, if one did not.
    pub fn first_mismatch(&self) -> Option<u64> {
        self.first_mismatch
    }

    /// `Ok` if every byte matched and there were `expected_len` of them.
    pub fn finish(&self, expected_len: u64) -> Result<(), String> {
        if let Some(at) = self.first_mismatch {
            return Err(format!("byte {at} does not follow the (i % 251) pattern"));
        }
        if self.offset != expected_len {
            return Err(format!("{} bytes instead of {expected_len}", self.offset));
        }
        Ok(())
    }
}

/// One client of an echo service (the echo example, or the proxy in front of one) at `addr`:
/// writes `bytes` of the pattern in 16 KiB writes and half-closes, while reading the echo until
/// the end of the stream; then checks that every byte came back, in order.
pub async fn echo_round_trip(
    addr: std::net::SocketAddr,
    bytes: usize,
) -> Result<(), super::BoxError> {
    use sockeye::io::{AsyncReadExt, AsyncWriteExt};
    let stream = sockeye::net::TcpStream::connect(addr).await?;
    let (mut reader, mut writer) = stream.into_split();
    let send = async move {
        let data = vec(bytes);
        for piece in data.chunks(16 * 1024) {
            writer.write_all(piece).await?;
        }
        writer.shutdown().await?;
        Ok::<_, std::io::Error>(())
    };
    let receive = async move {
        let mut checker = Checker::default();
        let mut buf = std::vec![0; 64 * 1024];
        loop {
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            checker.update(&buf[..n]);
        }
        Ok::<_, std::io::Error>(checker)
    };
    let (sent, checker) = sockeye::join!(send, receive);
    sent?;
    checker?.finish(bytes as u64)?;
    Ok(())
}
