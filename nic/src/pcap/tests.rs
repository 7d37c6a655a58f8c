use std::io::Write;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness};

use super::*;
use crate::clock::ManualClock;

/// Temporary files and reading pcap files back, shared with the integration tests.
#[path = "../../tests/common/pcap_io.rs"]
mod pcap_io;
use pcap_io::{TempFile, read_pcap};

fn frame(n: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| n.wrapping_mul(17).wrapping_add(i as u8))
        .collect()
}

/// Writes a pcap file holding `frames` with their timestamps, under `header`.
fn write_pcap(path: &Path, header: PcapHeader, frames: &[(Duration, Vec<u8>)]) {
    let file = File::create(path).unwrap();
    let mut writer = PcapWriter::with_header(file, header).unwrap();
    for (ts, f) in frames {
        writer
            .write_packet(&PcapPacket::new(*ts, f.len() as u32, f))
            .unwrap();
    }
}

fn receive_all(dev: &mut dyn Device, budget: usize) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    dev.receive(budget, &mut |f| frames.push(f.to_vec()))
        .unwrap();
    frames
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn replays_in_order_respecting_budget_and_records_output() {
    let (input, output) = (TempFile::new("in.pcap"), TempFile::new("out.pcap"));
    let frames: Vec<_> = (0..5)
        .map(|n| (ms(u64::from(n) * 100), frame(n, 60 + n as usize)))
        .collect();
    write_pcap(&input.0, PcapHeader::default(), &frames);
    let clock = ManualClock::starting_at(Duration::from_secs(1_700_000_000));
    let mut dev = PcapDevice::open(&input.0, &output.0)
        .unwrap()
        .with_clock(clock.clone());
    assert_eq!((dev.mtu(), dev.mac()), (1500, DEFAULT_MAC));
    assert_eq!(dev.capabilities(), Capabilities::default());
    assert_eq!(
        dev.next_poll_in(),
        None,
        "untimed replay: everything available now"
    );
    assert!(dev.rx_pending());
    assert_eq!(
        receive_all(&mut dev, 2),
        [frames[0].1.clone(), frames[1].1.clone()]
    );
    assert_eq!(receive_all(&mut dev, 0), Vec::<Vec<u8>>::new());
    assert_eq!(receive_all(&mut dev, 64).len(), 3);
    assert!(!dev.rx_pending() && dev.is_exhausted());
    assert_eq!(dev.receive(64, &mut |_| panic!()).unwrap(), 0);

    let sent = [frame(9, 1514), frame(10, 14), frame(11, 0)];
    for (i, f) in sent.iter().enumerate() {
        clock.advance(ms(i as u64));
        assert!(
            dev.transmit(f.len(), &mut |b| b.copy_from_slice(f))
                .unwrap()
        );
    }
    let stats = dev.stats();
    assert_eq!(
        (stats.rx_frames, stats.tx_frames, stats.rx_truncated),
        (5, 3, 0)
    );
    assert!(format!("{dev:?}").contains("in.pcap"));
    assert_eq!(dev.input_path(), input.0.as_path());
    assert_eq!(dev.output_path(), output.0.as_path());
    dev.flush().unwrap();
    dev.finish().unwrap();
    let (header, written) = read_pcap(&output.0);
    assert_eq!(header.datalink, DataLink::ETHERNET);
    assert_eq!(header.snaplen, SNAPLEN);
    let expected_ts = [0, 1, 3].map(|m| Duration::from_secs(1_700_000_000) + ms(m));
    let expected: Vec<_> = expected_ts.into_iter().zip(sent).collect();
    assert_eq!(written, expected);
}

#[test]
fn settings_and_oversize() {
    let (input, output) = (TempFile::new("in.pcap"), TempFile::new("out.pcap"));
    write_pcap(&input.0, PcapHeader::default(), &[]);
    let mac = MacAddr([2, 1, 2, 3, 4, 5]);
    let mut dev = PcapDevice::open(&input.0, &output.0)
        .unwrap()
        .with_mtu(9000)
        .with_mac(mac);
    assert!(!dev.rx_pending(), "an empty capture is exhausted at once");
    assert_eq!((dev.mtu(), dev.mac()), (9000, mac));
    assert!(dev.transmit(9014, &mut |_| {}).unwrap());
    let err = dev.transmit(9015, &mut |_| panic!()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn timed_replay_follows_the_file_gaps() {
    let (input, output) = (TempFile::new("in.pcap"), TempFile::new("out.pcap"));
    let base = Duration::from_secs(1_000);
    let frames = [
        (base, frame(0, 60)),
        (base + ms(1), frame(1, 60)),
        (base + ms(1), frame(2, 60)),
        (base + ms(5), frame(3, 60)),
        (base - ms(1), frame(4, 60)), // Out of order in the file: due at once.
    ];
    write_pcap(&input.0, PcapHeader::default(), &frames);
    let clock = ManualClock::starting_at(Duration::from_secs(7));
    let mut dev = PcapDevice::open(&input.0, &output.0)
        .unwrap()
        .with_timing(clock.clone());
    assert_eq!(dev.next_poll_in(), Some(Duration::ZERO));
    assert_eq!(receive_all(&mut dev, 64), [frame(0, 60)]);
    assert!(!dev.rx_pending());
    assert_eq!(dev.next_poll_in(), Some(ms(1)));
    clock.advance(ms(1));
    assert!(dev.rx_pending());
    assert_eq!(receive_all(&mut dev, 64), [frame(1, 60), frame(2, 60)]);
    assert_eq!(dev.next_poll_in(), Some(ms(4)));
    clock.advance(ms(3));
    assert!(receive_all(&mut dev, 64).is_empty());
    clock.advance(ms(1));
    assert_eq!(receive_all(&mut dev, 64), [frame(3, 60), frame(4, 60)]);
    assert_eq!(dev.next_poll_in(), None);
}

#[test]
fn reads_nanosecond_big_endian_and_short_snaplen_files() {
    let (input, output) = (TempFile::new("in.pcap"), TempFile::new("out.pcap"));
    let header = PcapHeader {
        ts_resolution: TsResolution::NanoSecond,
        endianness: Endianness::Big,
        snaplen: 96,
        ..PcapHeader::default()
    };
    // A capture with a 96-byte snapshot: the record holds 96 of the frame's 1514 bytes.
    let mut file = File::create(&input.0).unwrap();
    header.write_to(&mut file).unwrap();
    let raw = pcap_file::pcap::RawPcapPacket {
        ts_sec: 5,
        ts_frac: 123_456_789,
        incl_len: 96,
        orig_len: 1514,
        data: std::borrow::Cow::Owned(frame(1, 96)),
    };
    let mut writer = PcapWriter::with_header(Vec::new(), header).unwrap();
    writer.write_raw_packet(&raw).unwrap();
    file.write_all(&writer.into_writer()[24..]).unwrap();
    drop(file);
    let clock = ManualClock::new();
    let mut dev = PcapDevice::open(&input.0, &output.0)
        .unwrap()
        .with_timing(clock);
    assert_eq!(dev.next_timestamp, Duration::new(5, 123_456_789));
    assert_eq!(receive_all(&mut dev, 8), [frame(1, 96)]);
    assert_eq!(dev.stats().rx_truncated, 1);
}

#[test]
fn missing_input_is_not_found_and_creates_no_output() {
    let (input, output) = (TempFile::new("missing.pcap"), TempFile::new("out.pcap"));
    let err = PcapDevice::open(&input.0, &output.0).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(
        err.to_string().contains(&*input.0.to_string_lossy()),
        "{err}"
    );
    assert!(!output.0.exists());
}

#[test]
fn malformed_inputs_are_invalid_data() {
    let output = TempFile::new("out.pcap");
    let cases: [(&str, &[u8], &str); 4] = [
        ("empty", b"", "truncated"),
        ("garbage", b"this is not a capture file at all", "magic"),
        (
            "pcapng",
            b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x4d\x3c\x2b\x1a\x01\x00\x00\x00",
            "pcapng",
        ),
        ("short header", b"\xd4\xc3\xb2\xa1\x02\x00", "truncated"),
    ];
    for (name, bytes, needle) in cases {
        let input = TempFile::new(name);
        std::fs::write(&input.0, bytes).unwrap();
        let err = PcapDevice::open(&input.0, &output.0).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{name}: {err}");
        let message = err.to_string();
        assert!(message.contains(&*input.0.to_string_lossy()), "{message}");
        assert!(message.contains(needle), "{name}: {message}");
        assert!(!output.0.exists(), "{name}");
    }
}

#[test]
fn other_link_types_are_refused_by_name() {
    let (input, output) = (TempFile::new("raw.pcap"), TempFile::new("out.pcap"));
    let header = PcapHeader {
        datalink: DataLink::RAW,
        ..PcapHeader::default()
    };
    write_pcap(&input.0, header, &[(ms(0), frame(0, 40))]);
    let err = PcapDevice::open(&input.0, &output.0).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    let message = err.to_string();
    assert!(
        message.contains("link type RAW (101) is not Ethernet (1)"),
        "{message}"
    );
    assert!(message.contains(&*input.0.to_string_lossy()), "{message}");
}

#[test]
fn truncated_file_fails_after_the_good_frames() {
    let (input, output) = (TempFile::new("cut.pcap"), TempFile::new("out.pcap"));
    let frames: Vec<_> = (0..3).map(|n| (ms(u64::from(n)), frame(n, 100))).collect();
    write_pcap(&input.0, PcapHeader::default(), &frames);
    let mut bytes = std::fs::read(&input.0).unwrap();
    bytes.truncate(bytes.len() - 10);
    std::fs::write(&input.0, bytes).unwrap();
    let mut dev = PcapDevice::open(&input.0, &output.0).unwrap();
    assert_eq!(receive_all(&mut dev, 64), [frame(0, 100), frame(1, 100)]);
    assert!(dev.rx_pending(), "the error is pending");
    let err = dev.receive(64, &mut |_| panic!()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    let message = err.to_string();
    assert!(
        message.contains("frame 3") && message.contains("truncated"),
        "{message}"
    );
    assert!(!dev.rx_pending());
    assert_eq!(dev.receive(64, &mut |_| panic!()).unwrap(), 0);
}

#[test]
fn unwritable_output_is_reported_with_its_path() {
    let input = TempFile::new("in.pcap");
    write_pcap(&input.0, PcapHeader::default(), &[]);
    let output = std::env::temp_dir().join("sockeye-no-such-dir/out.pcap");
    let err = PcapDevice::open(&input.0, &output).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(
        err.to_string().contains("cannot create pcap output"),
        "{err}"
    );
    assert!(err.to_string().contains("sockeye-no-such-dir"), "{err}");
}
