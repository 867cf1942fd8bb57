//! The netlink connections of a lab's namespaces: a cache, not a possession. A namespace
//! is kept alive by its descriptor; its rtnetlink socket is opened when a request needs
//! it and kept while the open-file budget allows. A machine whose hard open-file limit is
//! 20,000 (root without CAP_SYS_RESOURCE cannot raise it) could otherwise not hold a
//! 10,000-node lab: a socket per namespace for the lab's life made it two descriptors per
//! node. Labs that fit keep every socket, as before; larger ones close the least recently
//! used idle connection to open another (one setns and socket, on the namespace workers).
//!
//! Every open socket holds a permit of a semaphore sized to the budget, returned when its
//! connection really closes: a connection closed in the cache but still used by a request
//! in flight keeps its permit until that request ends. So the number of sockets never
//! exceeds the budget, however many requests run at once. A request only ever holds one
//! connection, and a waiting request keeps closing idle ones (see `permit`), so waiting
//! for a permit cannot deadlock.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::netns::{Netns, Workers};

/// How long a request waits for a socket before looking for an idle one to close again.
const RECHECK: std::time::Duration = std::time::Duration::from_millis(20);
use crate::kernel::netlink::{Netlink, NlError, RawSocket};

pub struct Connections {
    slots: Vec<tokio::sync::Mutex<Option<Netlink>>>,
    recent: Mutex<Recent>,
    permits: Arc<Semaphore>,
}

/// Open connections by last use.
#[derive(Default)]
struct Recent {
    tick: u64,
    by_index: HashMap<usize, u64>,
    by_tick: BTreeMap<u64, usize>,
}

impl Recent {
    fn touch(&mut self, i: usize) {
        self.tick += 1;
        if let Some(old) = self.by_index.insert(i, self.tick) {
            self.by_tick.remove(&old);
        }
        self.by_tick.insert(self.tick, i);
    }

    /// The least recently used open connection other than `keep`, forgotten.
    fn oldest(&mut self, keep: usize) -> Option<usize> {
        let (&t, &i) = self.by_tick.iter().find(|(_, i)| **i != keep)?;
        self.by_tick.remove(&t);
        self.by_index.remove(&i);
        Some(i)
    }
}

fn io_error(what: &str, e: std::io::Error) -> NlError {
    NlError {
        errno: e.raw_os_error().unwrap_or(libc::EIO),
        message: Some(format!("{what}: {e}")),
    }
}

impl Connections {
    /// Room for `count` namespaces, at most `capacity` connections open at once.
    pub fn new(count: usize, capacity: usize) -> Connections {
        Connections {
            slots: (0..count).map(|_| tokio::sync::Mutex::new(None)).collect(),
            recent: Mutex::new(Recent::default()),
            permits: Arc::new(Semaphore::new(capacity.max(1))),
        }
    }

    /// Take over a socket opened with namespace `i` (at creation, or a sandboxed node's
    /// remade namespace), replacing its connection if it had one.
    pub fn adopt(&mut self, i: usize, socket: RawSocket) -> std::io::Result<()> {
        let Some(slot) = self.slots.get_mut(i) else {
            return Err(std::io::Error::other(format!(
                "no namespace {i} in this lab"
            )));
        };
        // Drop the old connection first: its permit is the one the new socket takes.
        *slot.get_mut() = None;
        let permit = Arc::clone(&self.permits).try_acquire_owned().ok();
        *self.slots[i].get_mut() = Some(Netlink::attach_holding(socket, permit)?);
        if let Ok(mut r) = self.recent.lock() {
            r.touch(i);
        }
        Ok(())
    }

    /// The connection of namespace `i`, opened inside `ns` if it is not open.
    pub async fn get(&self, i: usize, ns: &Netns, workers: &Workers) -> Result<Netlink, NlError> {
        let Some(slot) = self.slots.get(i) else {
            return Err(NlError {
                errno: libc::ENOENT,
                message: Some(format!("no namespace {i} in this lab")),
            });
        };
        let mut slot = slot.lock().await;
        if let Some(nl) = &*slot {
            self.touch(i);
            return Ok(nl.clone());
        }
        let permit = self.permit(i).await?;
        let socket = workers
            .run(ns, RawSocket::open)
            .await
            .map_err(|e| io_error("entering the namespace", e))?
            .map_err(|e| io_error("netlink socket", e))?;
        let nl = Netlink::attach_holding(socket, Some(permit))
            .map_err(|e| io_error("netlink socket", e))?;
        *slot = Some(nl.clone());
        drop(slot);
        self.touch(i);
        Ok(nl)
    }

    /// A permit for one more socket: free, or freed by closing idle connections (least
    /// recently used first), or else the next one a request in flight gives back.
    ///
    /// Waiting on the semaphore alone can deadlock: once every waiter has emptied the
    /// list of open connections, the requests in flight finish, their connections stay
    /// open and idle in the cache holding every permit, and nobody is left to close one.
    /// So a waiter looks again at the open connections whenever it has waited `RECHECK`.
    async fn permit(&self, opening: usize) -> Result<OwnedSemaphorePermit, NlError> {
        loop {
            if let Ok(p) = Arc::clone(&self.permits).try_acquire_owned() {
                return Ok(p);
            }
            let oldest = match self.recent.lock() {
                Ok(mut r) => r.oldest(opening),
                Err(_) => None,
            };
            if let Some(v) = oldest {
                match self.slots[v].try_lock() {
                    // Its permit comes back now, or when its requests in flight end.
                    Ok(mut s) => *s = None,
                    // Being opened or read right now: it counts as just used.
                    Err(_) => self.touch(v),
                }
                tokio::task::yield_now().await;
                continue;
            }
            match tokio::time::timeout(RECHECK, Arc::clone(&self.permits).acquire_owned()).await {
                Ok(Ok(p)) => return Ok(p),
                Ok(Err(_)) => {
                    return Err(NlError {
                        errno: libc::EMFILE,
                        message: Some("the lab's netlink connections are closed".into()),
                    });
                }
                Err(_) => {}
            }
        }
    }

    fn touch(&self, i: usize) {
        if let Ok(mut r) = self.recent.lock() {
            r.touch(i);
        }
    }

    /// Close every connection (teardown).
    pub fn clear(&mut self) {
        for s in &mut self.slots {
            *s.get_mut() = None;
        }
        if let Ok(mut r) = self.recent.lock() {
            *r = Recent::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_goes_first_and_never_the_one_being_opened() {
        let mut r = Recent::default();
        for i in 0..4 {
            r.touch(i);
        }
        r.touch(0);
        assert_eq!(r.oldest(9), Some(1));
        assert_eq!(r.oldest(2), Some(3));
        assert_eq!(r.oldest(2), Some(0));
        assert_eq!(r.oldest(2), None);
    }
}
