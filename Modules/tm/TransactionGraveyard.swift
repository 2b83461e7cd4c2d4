import SwiftletSDK
import Synchronization

/// Transactions whose `wt_timer` ended, freed by the next worker that handles a message
/// instead of by the timer thread. A transaction is some twenty blocks (its request's
/// context, message and edits, its branches, copies in shared memory, its last reply): the
/// timer thread freed them into the workers' malloc arenas, past its own thread cache, at
/// about one and a half times the instructions a worker takes, and in a burst every tick.
/// The wait timer's handle stays with its transaction until then, so that it is freed here
/// as well. A lock-free stack: the timer thread pushes, a worker takes the whole stack at once. When
/// no worker takes it for a second (no traffic), the timer thread frees it itself
/// (`freeIfIdle`), so that memory comes back without messages too.
final class TransactionGraveyard: @unchecked Sendable {
    /// The address of the last transaction buried (retained), 0 when empty; each one links
    /// to the one buried before it (`Transaction.nextInGrave`).
    private let head = Atomic<UInt>(0)
    /// Times a worker took the stack, for `freeIfIdle`.
    private let taken = Atomic<UInt>(0)
    /// `taken` when the timer thread last looked (timer thread only).
    private var takenAtLastLook: UInt = 0
    /// The scheduler the wait timers' handles are given back to (`recycle`), set once when tm
    /// starts; nil: they are let go of.
    var timers: (any TimerScheduling)?

    /// Holds `tx` until a worker (or an idle second) frees it. Once per transaction (a
    /// second push would link it to itself); called by the timer thread only.
    func bury(_ tx: Transaction) {
        guard !tx.buried else { return }
        tx.buried = true
        let address = UInt(bitPattern: Unmanaged.passRetained(tx).toOpaque())
        var current = head.load(ordering: .relaxed)
        while true {
            tx.nextInGrave = current
            let (done, original) = head.compareExchange(
                expected: current, desired: address, successOrdering: .releasing, failureOrdering: .relaxed)
            if done { return }
            current = original
        }
    }

    /// Frees every transaction buried so far on the calling thread (a worker, for each
    /// message): nothing but one atomic load when there is none.
    @inline(__always) func free() {
        guard head.load(ordering: .relaxed) != 0 else { return }
        taken.add(1, ordering: .relaxed)
        release(head.exchange(0, ordering: .acquiring))
    }

    /// The timer thread's look, once a second: what no worker took since the last look goes
    /// now.
    func freeIfIdle() {
        let now = taken.load(ordering: .relaxed)
        defer { takenAtLastLook = now }
        guard now == takenAtLastLook, head.load(ordering: .relaxed) != 0 else { return }
        release(head.exchange(0, ordering: .acquiring))
    }

    private func release(_ first: UInt) {
        var address = first
        while let p = UnsafeRawPointer(bitPattern: address) {
            let tx = Unmanaged<Transaction>.fromOpaque(p)
            tx._withUnsafeGuaranteedRef { t in
                address = t.nextInGrave
                // The wait timer's handle (which holds the transaction) goes first, here too,
                // back to the scheduler for another transaction's timer.
                if let timers { timers.recycle(&t.waitTimer) } else { t.waitTimer = nil }
            }
            tx.release()
        }
    }
}
