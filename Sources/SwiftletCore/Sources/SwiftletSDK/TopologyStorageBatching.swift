/// What a `TopologyStorage` may also offer to spend fewer round trips (topos_redis): its
/// writes are queued and go out together, and what the message being handled read is kept
/// for what it causes to be sent. topos calls these on every thread that calls the storage.
public protocol TopologyStorageBatching: AnyObject {
    /// A message was received on the calling thread (topos' `SREV_NET_DATA_IN`): what was
    /// kept before is forgotten, and what is read from now on may be kept until
    /// `endMessage` (the records of one message and of the messages it causes to be sent).
    func beginMessage()
    /// A message went out from the calling thread: nothing is kept any more (until the
    /// next `beginMessage`).
    func endMessage()
    /// Writes what was queued on the calling thread (before topos releases its lock and
    /// before a message goes out); 0 on success, -1 when it could not be written.
    func commit() -> Int
}
