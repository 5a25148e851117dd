import Glibc

/// Writes every byte of `raw` to `fd`, going on after short writes and EINTR. Returns nil, or
/// the errno of the write that failed: each caller words the error for its own file and module.
public func writeFully(_ fd: Int32, _ raw: UnsafeRawBufferPointer) -> Int32? {
    var done = 0
    while done < raw.count {
        let n = write(fd, raw.baseAddress! + done, raw.count - done)
        if n < 0 {
            if errno == EINTR { continue }
            return errno
        }
        done += n
    }
    return nil
}
