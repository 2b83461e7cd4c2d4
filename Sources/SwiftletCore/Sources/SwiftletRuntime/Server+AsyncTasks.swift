import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

extension Server {
    /// Starts the core's async task workers (`async_workers`, `async_workers_group`): each
    /// thread runs every module's `child_init(PROC_RPC)`, as Kamailio's forked task workers
    /// do; a failure stops the server.
    static func startAsyncTaskWorkers(_ loaded: LoadedConfiguration, firstLogRank: Int, failed: StopFlag) {
        guard let groups = loaded.asyncTaskWorkers, groups.isActive else { return }
        let modules = loaded.modules
        groups.start(firstLogRank: firstLogRank) {
            for m in modules {
                do {
                    try childInit(m, rank: ProcessRank.rpc)
                } catch {
                    Log.log(.crit, "core", "\(error)")
                    failed.set()
                    kill(getpid(), SIGTERM)
                    return false
                }
            }
            return true
        }
    }
}
