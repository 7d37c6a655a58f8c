//! The runtime's reactor waits on a TAP device's descriptor without busy-spinning: inside a
//! network namespace the test creates (see `nic/tests/common/mod.rs` for the safety rules), a
//! task awaits the readability of a [`Tap`]'s fd while the kernel sends it an ARP request every
//! 120 ms; the frames arrive, and the runtime's thread uses almost no CPU meanwhile.
//!
//! Needs root; without it the test prints "skipped" and passes, except under `CI=true`, where it
//! fails.

#[path = "../nic/tests/common/mod.rs"]
mod common;

use std::net::{Ipv4Addr, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use sockeye::nic::{Device, Tap};
use sockeye::reactor::{Interest, Registration};
use sockeye::runtime::Runtime;

const KERNEL_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 2, 1);

/// How many addresses the kernel is made to resolve, one every `TRIGGER_PERIOD`.
const TRIGGERS: u8 = 4;
const TRIGGER_PERIOD: Duration = Duration::from_millis(120);

/// The CPU time (user + system) the calling thread has used.
fn thread_cpu_time() -> Duration {
    // SAFETY: `rusage` is plain old data; all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is valid for writes for the duration of the call.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    assert_eq!(rc, 0, "getrusage(RUSAGE_THREAD)");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[test]
fn reactor_sleeps_on_a_tap_fd_until_frames_arrive() {
    if !common::can_run("reactor_sleeps_on_a_tap_fd_until_frames_arrive", &["ip"]) {
        return;
    }
    common::in_netns(|| {
        // A non-persistent TAP, gone when `tap` is dropped.
        let mut tap = Tap::open("skrtap0").expect("creating skrtap0");
        common::ip("addr add 10.77.2.1/24 dev skrtap0");
        common::ip("link set skrtap0 up");
        let runtime = Runtime::new().unwrap();

        // The trigger runs on a thread spawned from this one, so it shares this thread's
        // namespace (checked before it sends anything): each datagram to a new address makes
        // the kernel broadcast an ARP request on skrtap0.
        let netns = common::current_netns();
        let trigger = thread::spawn(move || {
            assert_eq!(
                common::current_netns(),
                netns,
                "trigger outside the test namespace"
            );
            let udp = UdpSocket::bind((KERNEL_IP, 0)).unwrap();
            for i in 0..TRIGGERS {
                thread::sleep(TRIGGER_PERIOD);
                udp.send_to(b"wake", (Ipv4Addr::new(10, 77, 2, 10 + i), 9))
                    .unwrap();
            }
        });

        let cpu_before = thread_cpu_time();
        let started = Instant::now();
        let (targets, wakeups) = runtime.block_on(async {
            let registration = Registration::new(&tap, Interest::READABLE).unwrap();
            let mut targets = Vec::new();
            let mut wakeups = 0;
            let receive_all = async {
                while targets.len() < usize::from(TRIGGERS) {
                    registration.readable().await.unwrap();
                    wakeups += 1;
                    loop {
                        let n = tap
                            .receive(64, &mut |frame| {
                                if let Some((_, sender, target)) = common::parse_arp_request(frame)
                                {
                                    if sender == KERNEL_IP && !targets.contains(&target) {
                                        targets.push(target);
                                    }
                                }
                            })
                            .unwrap();
                        if n == 0 {
                            // Drained (EAGAIN): wait for the next edge.
                            registration.clear_read_ready();
                            break;
                        }
                    }
                }
            };
            sockeye::time::timeout(Duration::from_secs(3), receive_all)
                .await
                .expect("the kernel's ARP requests within 3 s");
            (targets, wakeups)
        });
        let cpu = thread_cpu_time() - cpu_before;
        let wall = started.elapsed();
        trigger.join().unwrap();

        eprintln!(
            "reactor waited {wall:?} for {} ARP requests: {cpu:?} of CPU, {wakeups} wakeups",
            targets.len()
        );
        let expected: Vec<Ipv4Addr> = (0..TRIGGERS)
            .map(|i| Ipv4Addr::new(10, 77, 2, 10 + i))
            .collect();
        assert_eq!(targets, expected, "one ARP request per address, in order");
        assert!(
            wall >= TRIGGER_PERIOD * u32::from(TRIGGERS) - Duration::from_millis(20),
            "finished before the last frame could have been sent: {wall:?}"
        );
        assert!(
            cpu < Duration::from_millis(50),
            "the runtime's thread used {cpu:?} of CPU in {wall:?}: busy-spinning"
        );
        assert!(
            wakeups <= 2 * usize::from(TRIGGERS) + 1,
            "{wakeups} wakeups for {TRIGGERS} frames"
        );
    });
}
