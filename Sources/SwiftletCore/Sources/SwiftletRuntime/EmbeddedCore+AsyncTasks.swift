import SwiftletSDK

extension EmbeddedCore {
    /// Starts the async task workers of `async_workers`/`async_workers_group` as real
    /// threads (each runs the modules' `child_init(PROC_RPC)` first); `shutdown()` stops them.
    func startAsyncTaskWorkers() {
        guard let groups = loaded.asyncTaskWorkers, groups.isActive else { return }
        let modules = loaded.modules
        groups.start {
            for m in modules {
                do {
                    try m.exports.childInitialize(ProcessRank.rpc)
                } catch {
                    Log.error("core", "child_init(\(ProcessRank.rpc)) of module '\(m.name)' failed: \(error)")
                    return false
                }
            }
            return true
        }
    }
}
