use std::time::Duration;

use pcap_file::pcap::PcapReader;
use pcap_file::{DataLink, TsResolution};

use super::*;
use crate::Loopback;
use crate::clock::ManualClock;
use crate::impair::{Impair, ImpairConfig};
use crate::pcap::SNAPLEN;

fn frame(n: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| n.wrapping_add(i as u8)).collect()
}

fn send(dev: &mut dyn Device, bytes: &[u8]) -> bool {
    dev.transmit(bytes.len(), &mut |buf| buf.copy_from_slice(bytes))
        .unwrap()
}

/// The packets of a pcap stream: timestamp, original length, captured bytes.
fn packets(bytes: &[u8]) -> Vec<(Duration, u32, Vec<u8>)> {
    let mut reader = PcapReader::new(bytes).unwrap();
    let header = reader.header();
    assert_eq!(header.datalink, DataLink::ETHERNET);
    assert_eq!(header.ts_resolution, TsResolution::NanoSecond);
    assert_eq!(header.snaplen, SNAPLEN);
    let mut out = Vec::new();
    // Raw packets: pcap-file's checked ones refuse an original length above the snapshot length,
    // which is how pcap records a truncated frame.
    while let Some(packet) = reader.next_raw_packet() {
        let packet = packet.unwrap();
        let timestamp = Duration::new(packet.ts_sec.into(), packet.ts_frac);
        out.push((timestamp, packet.orig_len, packet.data.into_owned()));
    }
    out
}

#[test]
fn records_both_directions_in_order_with_clock_timestamps() {
    let clock = ManualClock::starting_at(Duration::from_secs(1_600_000_000));
    let mut cap = Capture::to_writer(Loopback::new(), Vec::new())
        .unwrap()
        .with_clock(clock.clone());
    let sent = [frame(1, 60), frame(2, 1514), frame(3, 14)];
    for f in &sent {
        assert!(send(&mut cap, f));
        clock.advance(Duration::from_micros(10));
    }
    let mut received = Vec::new();
    assert_eq!(
        cap.receive(64, &mut |f| received.push(f.to_vec())).unwrap(),
        3
    );
    assert_eq!(received, sent, "the data path is unchanged");
    assert_eq!(cap.frames_captured(), 6);
    assert_eq!(cap.capture_errors(), 0);
    assert!(cap.capture_error().is_none());
    let (lo, bytes) = cap.into_parts().unwrap();
    assert_eq!(lo.stats().rx_frames, 3);
    let got = packets(&bytes);
    let t = |us: u64| Duration::from_secs(1_600_000_000) + Duration::from_micros(us);
    let expected: Vec<_> = [t(0), t(10), t(20), t(30), t(30), t(30)]
        .into_iter()
        .zip(sent.iter().chain(&sent))
        .map(|(ts, f)| (ts, f.len() as u32, f.clone()))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn forwards_everything_else() {
    let clock = ManualClock::new();
    let inner = Impair::new(Loopback::with_mtu(9000), clock.clone(), 1)
        .with_tx(ImpairConfig::new().with_delay(Duration::from_millis(3), Duration::ZERO));
    let mut cap = Capture::to_writer(inner, Vec::new()).unwrap();
    assert_eq!(cap.mtu(), 9000);
    assert_eq!(cap.mac(), MacAddr::ZERO);
    assert_eq!(cap.raw_fd(), None);
    assert_eq!(cap.capabilities(), Loopback::new().capabilities());
    send(&mut cap, &frame(0, 100));
    assert_eq!(cap.next_poll_in(), Some(Duration::from_millis(3)));
    assert!(!cap.rx_pending());
    clock.advance(Duration::from_millis(3));
    cap.flush().unwrap();
    assert!(cap.rx_pending(), "flush reached the inner device");
    assert_eq!(cap.inner().held_tx(), 0);
    assert_eq!(cap.inner_mut().tx_stats().passed, 1);
    assert!(format!("{cap:?}").contains("frames_captured: 1"));
}

#[test]
fn pushed_back_frames_are_not_recorded() {
    let mut cap = Capture::to_writer(Loopback::new().with_queue_len(1), Vec::new()).unwrap();
    assert!(send(&mut cap, &frame(0, 60)));
    assert!(!send(&mut cap, &frame(1, 60)));
    assert_eq!(cap.frames_captured(), 1);
    let err = cap.transmit(70_000, &mut |_| panic!()).unwrap_err();
    assert_eq!(
        err.kind(),
        io::ErrorKind::InvalidInput,
        "inner errors pass through"
    );
    let bytes = cap.into_parts().unwrap().1;
    assert_eq!(packets(&bytes).len(), 1);
}

#[test]
fn frames_beyond_the_snapshot_length_are_truncated() {
    let mut cap = Capture::to_writer(Loopback::with_mtu(300_000), Vec::new()).unwrap();
    let big = frame(7, 270_000);
    assert!(send(&mut cap, &big));
    let got = packets(&cap.into_parts().unwrap().1);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, 270_000);
    assert_eq!(got[0].2, big[..SNAPLEN as usize]);
}

/// A writer that accepts `budget` bytes, then fails every write (and, if `fail_flush`, flush).
struct Failing {
    budget: usize,
    fail_flush: bool,
}

impl Write for Failing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.budget == 0 {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
        }
        let n = buf.len().min(self.budget);
        self.budget -= n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.fail_flush {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "gone"));
        }
        Ok(())
    }
}

#[test]
fn write_errors_are_counted_and_frames_keep_flowing() {
    // Room for the 24-byte header and one 60-byte frame's record (16 + 60 bytes).
    let writer = Failing {
        budget: 24 + 76,
        fail_flush: false,
    };
    let mut cap = Capture::to_writer(Loopback::new(), writer).unwrap();
    for n in 0..5 {
        assert!(send(&mut cap, &frame(n, 60)), "transmit is unaffected");
    }
    let mut received = 0;
    cap.receive(64, &mut |_| received += 1).unwrap();
    assert_eq!(received, 5, "receive is unaffected");
    assert_eq!(cap.frames_captured(), 1);
    assert_eq!(cap.capture_errors(), 9);
    let err = cap.capture_error().unwrap();
    assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    assert!(err.to_string().contains("capture stream"), "{err}");
    cap.flush().unwrap();
    assert_eq!(cap.capture_errors(), 9, "a stopped capture is not flushed");
    let err = cap.finish().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::StorageFull);
}

#[test]
fn flush_errors_are_counted_not_returned() {
    let writer = Failing {
        budget: usize::MAX,
        fail_flush: true,
    };
    let mut cap = Capture::to_writer(Loopback::new(), writer).unwrap();
    send(&mut cap, &frame(0, 60));
    assert!(cap.flush().is_ok(), "the data path's flush is fine");
    assert_eq!(cap.capture_errors(), 1);
    assert_eq!(
        cap.capture_error().unwrap().kind(),
        io::ErrorKind::BrokenPipe
    );
    assert!(send(&mut cap, &frame(1, 60)));
    assert_eq!(cap.capture_errors(), 2);
}

#[test]
fn failing_header_write_is_an_error() {
    let writer = Failing {
        budget: 10,
        fail_flush: false,
    };
    let err = Capture::to_writer(Loopback::new(), writer).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    assert!(err.to_string().contains("header"), "{err}");
}

#[test]
fn file_capture_is_flushed_on_drop_and_bad_paths_fail() {
    let path =
        std::env::temp_dir().join(format!("sockeye-nic-capture-{}.pcap", std::process::id()));
    let mut cap = Capture::new(Loopback::new(), &path).unwrap();
    send(&mut cap, &frame(3, 80));
    drop(cap);
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(packets(&bytes).len(), 1);
    let err = Capture::new(Loopback::new(), "/nonexistent-dir/x.pcap").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains("/nonexistent-dir/x.pcap"), "{err}");
}

#[test]
fn into_inner_gives_the_device_back_even_when_the_capture_failed() {
    let writer = Failing {
        budget: 24,
        fail_flush: false,
    };
    let mut cap = Capture::to_writer(Loopback::new(), writer).unwrap();
    assert!(send(&mut cap, &frame(1, 60)));
    assert_eq!(cap.capture_errors(), 1);
    let (mut lo, result) = cap.into_inner();
    assert_eq!(result.unwrap_err().kind(), io::ErrorKind::StorageFull);
    // The frame sent while capturing is still queued in the device, which keeps working.
    assert!(send(&mut lo, &frame(2, 60)));
    assert_eq!(lo.receive(64, &mut |_| {}).unwrap(), 2);

    let mut cap = Capture::to_writer(Loopback::new(), Vec::new()).unwrap();
    assert!(send(&mut cap, &frame(3, 60)));
    let (lo, result) = cap.into_inner();
    result.unwrap();
    assert_eq!(lo.queued(), 1);
}
