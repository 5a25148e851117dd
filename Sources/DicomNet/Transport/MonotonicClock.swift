#if canImport(Glibc)
import Glibc
#endif

/// Seconds on the monotonic clock (CLOCK_MONOTONIC): for deadlines and durations, which must not
/// jump when the wall clock is set. Shared by TLS handshakes, the C-STORE log timings and the
/// HTTP server.
public func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
