import Foundation

/// Runs a blocking call on a thread of its own and awaits its result. A blocking call inside
/// `Task.detached` holds one of Swift concurrency's cooperative threads (as many as cores, 2
/// here): with other suites doing the same in parallel, an async test that polls with
/// `Task.sleep` while the call blocks can starve until the call times out.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: body()) }
    }
}
