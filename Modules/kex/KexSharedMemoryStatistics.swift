import SwiftletSDK

/// The `shmem:` statistics group that Kamailio's kex registers (`shm_stats[]` of its
/// `core_stats.c`): the shared memory pool's figures, read when asked for, never reset.
enum KexSharedMemoryStatistics {
    static let readers: [(String, @Sendable (SharedMemoryStatistics) -> Int)] = [
        ("total_size", { $0.total }),
        ("used_size", { $0.used }),
        ("real_used_size", { $0.realUsed }),
        ("max_used_size", { $0.maxUsed }),
        ("free_size", { $0.free }),
        ("fragments", { $0.fragments }),
    ]

    static func register(in registry: Counters) {
        for (name, read) in readers {
            _ = try? registry.register(group: "shmem", name: name, flags: .noReset, existingIsFine: true) {
                read(SharedMemory.shared.statistics)
            }
        }
    }
}
