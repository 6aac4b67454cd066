//! Bodies sent from a file by the kernel, as nginx sends a static file: `sendfile(2)` attaches
//! the file's pages to the socket where `writev(2)` copies the bytes into it. For a body of
//! 40 kB, that copy is about a fifth of the whole cost of a request on loopback: nginx served
//! 29,600 requests a second with `sendfile off` against 38,800 with it, the same file, one
//! worker (BENCHMARKS.md, "Serving /metrics").
//!
//! A body joined in one piece at poll time ([`crate::exposition::Parts`]) gets a copy in a
//! sealed memory file ([`BodyFile`]); the listener wraps each plain TCP connection in
//! [`SendfileStream`], which recognises that body among the slices hyper writes (by address:
//! the body's bytes are the snapshot's own, held alive by it) and sends it from the file.
//! Anything else, and every write where the file is not known, goes through `writev` as
//! before. Linux only; elsewhere no body has a file, and every write is a `writev`.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A body's bytes in a memory file sealed against any change: what the kernel sends from.
#[derive(Debug)]
pub struct BodyFile {
    #[cfg(target_os = "linux")]
    pub(crate) file: std::fs::File,
}

/// Bodies shorter than this are written as they are. Below it the copy is cheaper than the
/// second system call (the head goes out with `sendmsg` before the `sendfile`) and the kernel's
/// page handling: with files for every body, 9 kB gzip bodies served 0.70x to 0.75x nginx's rate
/// where `writev` had served 0.87x to 1.04x.
pub const SENDFILE_FROM: usize = 32 * 1024;

/// Bodies longer than this are written as they are too. `sendfile` moves a file through a
/// pipe of 16 pages, 64 KiB at a time, each round a send of its own: a 330 kB gzip body
/// (10,000 series) served 0.77x nginx's rate from its file against 0.97x with `writev`.
pub const SENDFILE_UP_TO: usize = 64 * 1024;

impl BodyFile {
    /// A sealed memory file holding `bytes`, or `None` when the body is shorter than
    /// [`SENDFILE_FROM`] or longer than [`SENDFILE_UP_TO`], or the system has no such file (not Linux, or `memfd_create`
    /// refused): the body is then written as it is.
    pub fn of(bytes: &[u8]) -> Option<BodyFile> {
        if !(SENDFILE_FROM..=SENDFILE_UP_TO).contains(&bytes.len()) {
            return None;
        }
        #[cfg(target_os = "linux")]
        {
            linux::memfd(bytes).map(|file| BodyFile { file })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = bytes;
            None
        }
    }

    /// A file of any length, for the tests of partial sends.
    #[cfg(all(test, target_os = "linux"))]
    fn any_length(bytes: &[u8]) -> BodyFile {
        BodyFile {
            file: linux::memfd(bytes).expect("memfd"),
        }
    }
}

/// Where the bodies that have a file are found: the snapshot store.
pub trait BodyFiles: Send + Sync {
    /// The first of `slices` that lies within a body with a file: its index, the file, and
    /// where in the file the slice starts.
    fn find(&self, slices: &[IoSlice<'_>]) -> Option<(usize, Arc<BodyFile>, u64)>;
}

/// The offset of `slice` within `body`, when `slice` lies in the very bytes of `body` (the
/// same memory, not equal bytes elsewhere).
pub fn offset_in(body: &[u8], slice: &[u8]) -> Option<u64> {
    let (start, end) = (body.as_ptr() as usize, body.as_ptr() as usize + body.len());
    let at = slice.as_ptr() as usize;
    (!slice.is_empty() && at >= start && at + slice.len() <= end).then(|| (at - start) as u64)
}

/// A plain TCP connection that sends known bodies from their files, and is otherwise the
/// stream itself.
pub struct SendfileStream {
    tcp: TcpStream,
    files: Option<Arc<dyn BodyFiles>>,
}

impl SendfileStream {
    /// `tcp`, sending the bodies of `files` (none: every write is a `writev`).
    pub fn new(tcp: TcpStream, files: Option<Arc<dyn BodyFiles>>) -> SendfileStream {
        SendfileStream { tcp, files }
    }
}

impl AsyncRead for SendfileStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for SendfileStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        slices: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        #[cfg(target_os = "linux")]
        if let Some((i, file, offset)) = this.files.as_ref().and_then(|f| f.find(slices)) {
            loop {
                std::task::ready!(this.tcp.poll_write_ready(cx))?;
                let sent = this.tcp.try_io(tokio::io::Interest::WRITABLE, || {
                    linux::send(&this.tcp, &slices[..i], &file, offset, slices[i].len())
                });
                match sent {
                    // Not writable after all: poll_write_ready cleared the readiness, wait again.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    sent => return Poll::Ready(sent),
                }
            }
        }
        Pin::new(&mut this.tcp).poll_write_vectored(cx, slices)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::fs::File;
    use std::io::{self, IoSlice, Write};
    use std::os::fd::{AsRawFd, FromRawFd};

    use super::BodyFile;

    /// A memory file holding `bytes`, sealed so that nothing can change it while it is sent.
    pub(super) fn memfd(bytes: &[u8]) -> Option<File> {
        // SAFETY: memfd_create reads a NUL-terminated name and returns a new descriptor, or -1.
        let fd = unsafe {
            libc::memfd_create(
                c"wolkvox-body".as_ptr(),
                libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
            )
        };
        if fd < 0 {
            return None;
        }
        // SAFETY: fd is a new descriptor that nothing else owns.
        let mut file = unsafe { File::from_raw_fd(fd) };
        file.write_all(bytes).ok()?;
        let seals =
            libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
        // SAFETY: fcntl on a descriptor this function owns.
        let sealed = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) };
        (sealed == 0).then_some(file)
    }

    /// Sends `head` (with MSG_MORE, so that it leaves with the body's first bytes), then
    /// `len` bytes of `body` from `offset`: the bytes sent, as one write would count them.
    pub(super) fn send(
        socket: &impl AsRawFd,
        head: &[IoSlice<'_>],
        body: &BodyFile,
        offset: u64,
        len: usize,
    ) -> io::Result<usize> {
        let socket = socket.as_raw_fd();
        let head_len: usize = head.iter().map(|s| s.len()).sum();
        let mut sent = 0;
        if head_len > 0 {
            // SAFETY: msghdr is plain data (musl's has padding fields), zero is a valid value.
            let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
            // IoSlice is ABI-compatible with iovec on Unix; sendmsg only reads them.
            msg.msg_iov = head.as_ptr() as *mut libc::iovec;
            msg.msg_iovlen = head.len() as _;
            // SAFETY: msg points at `head`'s slices, alive for the call.
            let n = unsafe { libc::sendmsg(socket, &msg, libc::MSG_MORE | libc::MSG_NOSIGNAL) };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            sent = n as usize;
            if sent < head_len {
                return Ok(sent);
            }
        }
        let mut at = libc::off_t::try_from(offset).map_err(io::Error::other)?;
        // SAFETY: sendfile reads from the sealed file and writes to the socket; `at` is ours.
        let n = unsafe { libc::sendfile(socket, body.file.as_raw_fd(), &mut at, len) };
        match n {
            n if n > 0 => Ok(sent + n as usize),
            // The head went out: report it, and the next write meets the error (or the space).
            _ if sent > 0 => Ok(sent),
            0 => Err(io::ErrorKind::WriteZero.into()),
            _ => Err(io::Error::last_os_error()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slice_is_found_in_a_body_only_by_address() {
        let body = vec![7u8; 100];
        assert_eq!(offset_in(&body, &body), Some(0));
        assert_eq!(offset_in(&body, &body[40..]), Some(40));
        assert_eq!(offset_in(&body, &body[40..60]), Some(40));
        // Equal bytes elsewhere are not the body.
        let copy = body.clone();
        assert_eq!(offset_in(&body, &copy), None);
        assert_eq!(offset_in(&body[..50], &body[40..60]), None);
        assert_eq!(offset_in(&body, &body[10..10]), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_body_file_holds_the_bytes_and_refuses_any_change() {
        use std::io::{Read, Seek, Write};
        assert!(
            BodyFile::of(&[b'x'; SENDFILE_FROM - 1]).is_none(),
            "short: no file"
        );
        assert!(
            BodyFile::of(&vec![b'x'; SENDFILE_UP_TO + 1]).is_none(),
            "long: no file"
        );
        let bytes: Vec<u8> = (0..SENDFILE_FROM).map(|i| (i % 251) as u8).collect();
        let file = BodyFile::of(&bytes).expect("memfd");
        let mut f = &file.file;
        f.rewind().unwrap();
        let mut back = Vec::new();
        f.read_to_end(&mut back).unwrap();
        assert_eq!(back, bytes);
        assert!(f.write_all(b"x").is_err(), "sealed against writes");
        assert!(file.file.set_len(1).is_err(), "sealed against shrinking");
    }

    /// Files whose bytes differ from the body in memory: what arrives tells which was sent.
    #[cfg(target_os = "linux")]
    struct Marked {
        body: Vec<u8>,
        file: Arc<BodyFile>,
    }

    #[cfg(target_os = "linux")]
    impl BodyFiles for Marked {
        fn find(&self, slices: &[IoSlice<'_>]) -> Option<(usize, Arc<BodyFile>, u64)> {
            slices
                .iter()
                .enumerate()
                .find_map(|(i, s)| offset_in(&self.body, s).map(|at| (i, self.file.clone(), at)))
        }
    }

    /// Writes `head` then `body` as hyper does: vectored writes of what is left of both.
    #[cfg(target_os = "linux")]
    async fn write_like_hyper(stream: &mut SendfileStream, head: &[u8], body: &[u8]) -> usize {
        use tokio::io::AsyncWriteExt;
        let (mut h, mut b, mut writes) = (0, 0, 0);
        while b < body.len() {
            writes += 1;
            let n = stream
                .write_vectored(&[IoSlice::new(&head[h..]), IoSlice::new(&body[b..])])
                .await
                .expect("writes");
            assert!(n > 0);
            let into_head = n.min(head.len() - h);
            h += into_head;
            b += n - into_head;
        }
        stream.flush().await.unwrap();
        writes
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_known_body_is_sent_from_its_file_through_partial_writes_with_its_head_first() {
        use tokio::io::AsyncReadExt;
        // 8 MB: more than loopback's socket buffers, so the kernel takes it piece by piece,
        // each sendfile starting where the last one stopped.
        let file_bytes: Vec<u8> = (0..8_000_000u32).map(|i| (i % 251) as u8).collect();
        let files = Arc::new(Marked {
            body: vec![0; file_bytes.len()],
            file: Arc::new(BodyFile::any_length(&file_bytes)),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        let (mut client, server) = (client.unwrap(), accepted.unwrap().0);
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 8000000\r\n\r\n";
        let writer = tokio::spawn(async move {
            let mut stream = SendfileStream::new(server, Some(files.clone()));
            let writes = write_like_hyper(&mut stream, head, &files.body).await;
            assert!(writes > 1, "the body went out in {writes} writes");
            // Anything else is written as it is.
            write_like_hyper(&mut stream, b"", b"tail").await;
        });
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        writer.await.unwrap();
        assert_eq!(&got[..head.len()], head);
        let body = &got[head.len()..got.len() - 4];
        assert_eq!(body.len(), file_bytes.len());
        assert!(
            body == &file_bytes[..],
            "the body came from the file, in order"
        );
        assert_eq!(&got[got.len() - 4..], b"tail");
    }

    #[tokio::test]
    async fn without_files_a_stream_writes_what_it_is_given() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        let mut stream = SendfileStream::new(accepted.unwrap().0, None);
        let mut client = client.unwrap();
        stream.write_all(b"plain").await.unwrap();
        drop(stream);
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"plain");
    }
}
