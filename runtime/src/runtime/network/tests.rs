use std::collections::HashMap;
use std::ffi::OsString;

use super::*;

fn env(pairs: &[(&str, &str)]) -> io::Result<Network> {
    let map: HashMap<String, OsString> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), OsString::from(v)))
        .collect();
    parse_env(|name| map.get(name).cloned())
}

fn message(pairs: &[(&str, &str)]) -> String {
    let err = env(pairs).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    err.to_string()
}

#[test]
fn defaults_to_the_loopback() {
    let setup = env(&[]).unwrap();
    assert_eq!(setup.nic, NicSpec::Loopback);
    assert_eq!(setup.addr.to_string(), "127.0.0.1/8");
    assert_eq!(setup.gateway, None);
    assert_eq!(setup.capture, None);
    assert!(setup.sysctl.is_empty());
    // Empty values count as unset.
    assert_eq!(
        env(&[("SOCKEYE_NIC", ""), ("SOCKEYE_IP", "")]).unwrap(),
        setup
    );
}

#[test]
fn every_device_form_parses() {
    let with_ip = |nic: &str| env(&[("SOCKEYE_NIC", nic), ("SOCKEYE_IP", "10.7.0.2/24")]);
    assert_eq!(
        with_ip("tap:tap0").unwrap().nic,
        NicSpec::Tap("tap0".into())
    );
    assert_eq!(with_ip("raw:vs").unwrap().nic, NicSpec::Raw("vs".into()));
    assert_eq!(
        with_ip("pcap:in.pcap,out.pcap").unwrap().nic,
        NicSpec::Pcap("in.pcap".into(), "out.pcap".into())
    );
    let setup = env(&[
        ("SOCKEYE_NIC", "loopback"),
        ("SOCKEYE_IP", "127.0.0.5/8"),
        ("SOCKEYE_GATEWAY", "127.0.0.1"),
        ("SOCKEYE_CAPTURE", "/tmp/x.pcap"),
        (
            "SOCKEYE_SYSCTL",
            "tcp_rmem=4096 65536 65536, net.ipv4.tcp_syn_retries=2",
        ),
    ])
    .unwrap();
    assert_eq!(setup.addr.to_string(), "127.0.0.5/8");
    assert_eq!(setup.gateway, Some(Ipv4Addr::LOCALHOST));
    assert_eq!(setup.capture, Some(PathBuf::from("/tmp/x.pcap")));
    let mut config = StackConfig::default();
    setup.apply_sysctl(&mut config).unwrap();
    assert_eq!(config.tcp_rmem, [4096, 65536, 65536]);
    assert_eq!(config.tcp_syn_retries, 2);
}

#[test]
fn bad_values_name_their_variable() {
    for nic in ["tun:x", "tap:", "pcap:only", "pcap:,out", "nonsense"] {
        let m = message(&[("SOCKEYE_NIC", nic), ("SOCKEYE_IP", "10.0.0.2/24")]);
        assert!(m.contains("SOCKEYE_NIC"), "{m}");
    }
    assert!(message(&[("SOCKEYE_IP", "10.0.0.2")]).contains("SOCKEYE_IP"));
    assert!(message(&[("SOCKEYE_IP", "10.0.0.2/33")]).contains("SOCKEYE_IP"));
    assert!(message(&[("SOCKEYE_NIC", "tap:tap0")]).contains("SOCKEYE_IP"));
    assert!(message(&[("SOCKEYE_GATEWAY", "x")]).contains("SOCKEYE_GATEWAY"));
    // A gateway must be on the link.
    assert!(message(&[("SOCKEYE_GATEWAY", "10.0.0.1")]).contains("SOCKEYE_GATEWAY"));
    let m = message(&[("SOCKEYE_SYSCTL", "tcp_nonsense=1")]);
    assert!(
        m.contains("SOCKEYE_SYSCTL") && m.contains("tcp_nonsense"),
        "{m}"
    );
    let m = message(&[("SOCKEYE_SYSCTL", "tcp_syn_retries=many")]);
    assert!(m.contains("SOCKEYE_SYSCTL"), "{m}");
    assert!(message(&[("SOCKEYE_SYSCTL", "tcp_syn_retries")]).contains("SOCKEYE_SYSCTL"));
}

#[test]
fn an_unopenable_device_names_the_variable() {
    let setup = env(&[
        (
            "SOCKEYE_NIC",
            "pcap:/nonexistent/in.pcap,/nonexistent/out.pcap",
        ),
        ("SOCKEYE_IP", "10.0.0.2/24"),
    ])
    .unwrap();
    let err = setup.interface().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains("SOCKEYE_NIC=pcap:"), "{err}");
}

fn flags_message(flags: NetworkFlags<'_>) -> String {
    let err = Network::from_flags(&flags).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    err.to_string()
}

#[test]
fn flags_parse_like_the_environment() {
    assert_eq!(
        Network::from_flags(&NetworkFlags::default()).unwrap(),
        Network::loopback()
    );
    let sysctl = [
        "tcp_rmem=4096 65536 65536".to_string(),
        "net.ipv4.tcp_syn_retries=2".to_string(),
    ];
    let network = Network::from_flags(&NetworkFlags {
        nic: Some("tap:sk0"),
        ip: Some("10.80.0.2/24"),
        gateway: Some("10.80.0.1"),
        capture: Some(Path::new("/tmp/x.pcap")),
        sysctl: &sysctl,
    })
    .unwrap();
    assert!(!network.is_loopback());
    assert_eq!(network.nic(), "tap:sk0");
    assert_eq!(network.addr().to_string(), "10.80.0.2/24");
    assert_eq!(network.gateway(), Some(Ipv4Addr::new(10, 80, 0, 1)));
    assert_eq!(network.capture(), Some(Path::new("/tmp/x.pcap")));
    assert_eq!(network.sysctl().len(), 2);
    let mut config = StackConfig::default();
    network.apply_sysctl(&mut config).unwrap();
    assert_eq!(config.tcp_rmem, [4096, 65536, 65536]);
    assert_eq!(config.tcp_syn_retries, 2);
}

#[test]
fn bad_flags_name_the_flag() {
    let m = flags_message(NetworkFlags {
        nic: Some("tun:x"),
        ip: Some("10.0.0.2/24"),
        ..NetworkFlags::default()
    });
    assert!(m.contains("--nic `tun:x`"), "{m}");
    let m = flags_message(NetworkFlags {
        ip: Some("10.0.0.300/24"),
        ..NetworkFlags::default()
    });
    assert!(m.contains("--ip `10.0.0.300/24`"), "{m}");
    let m = flags_message(NetworkFlags {
        nic: Some("tap:sk0"),
        ..NetworkFlags::default()
    });
    assert!(m.starts_with("--ip is not set"), "{m}");
    let m = flags_message(NetworkFlags {
        gateway: Some("10.0.0.1"),
        ..NetworkFlags::default()
    });
    assert!(m.contains("--gateway"), "{m}");
    for item in ["tcp_nonsense=1", "tcp_syn_retries=many", "tcp_syn_retries"] {
        let sysctl = [item.to_string()];
        let m = flags_message(NetworkFlags {
            sysctl: &sysctl,
            ..NetworkFlags::default()
        });
        assert!(m.contains("--sysctl"), "{m}");
    }
    // A flag's value is one setting: no splitting at commas.
    let sysctl = ["tcp_syn_retries=2,tcp_synack_retries=2".to_string()];
    let m = flags_message(NetworkFlags {
        sysctl: &sysctl,
        ..NetworkFlags::default()
    });
    assert!(m.contains("--sysctl"), "{m}");
}

#[test]
fn an_unopenable_device_names_the_flag() {
    let network = Network::from_flags(&NetworkFlags {
        nic: Some("pcap:/nonexistent/in.pcap,/nonexistent/out.pcap"),
        ip: Some("10.0.0.2/24"),
        ..NetworkFlags::default()
    })
    .unwrap();
    let err = network.interface().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains("--nic pcap:"), "{err}");
}
