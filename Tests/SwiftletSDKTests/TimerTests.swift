import Foundation
import Testing

@testable import SwiftletSDK

/// The timer thread and its wheel: periodic and one-shot timers, rescheduling, cancelling
/// (before, during and from inside a callback), start and stop. Deadlines are generous and
/// nothing asserts precise timing.
@Suite(.serialized) struct TimerTests {
    /// Waits up to `seconds` for `condition`.
    func eventually(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    func started() -> TimerService {
        let s = TimerService()
        s.start { true }
        return s
    }

    @Test func periodicTimersRepeat() {
        let s = started()
        defer { s.stop() }
        let fast = AtomicCounter()
        let slow = AtomicCounter()
        let ms = s.add(name: "fast", delay: TimerService.ticks(milliseconds: 100), interval: 2) {
            fast.add()
            return .again
        }
        s.add(name: "slow", delay: 16, interval: 16) {
            slow.add()
            return .again
        }
        #expect(eventually { fast.value >= 5 && slow.value >= 2 })
        #expect(ms.isPending)
        #expect(s.currentTick > 0)
    }

    @Test func aOneShotTimerRunsOnce() {
        let s = started()
        defer { s.stop() }
        let n = AtomicCounter()
        let t = s.add(name: "once", delay: 1, interval: 1) {
            n.add()
            return .stop
        }
        #expect(eventually { n.value == 1 })
        usleep(300_000)
        #expect(n.value == 1)
        #expect(!t.isPending)
        #expect(!t.cancel())
    }

    @Test func aCancelledTimerNeverRuns() {
        let s = started()
        defer { s.stop() }
        let n = AtomicCounter()
        let t = s.add(name: "fr", delay: TimerService.ticks(milliseconds: 300), interval: 1) {
            n.add()
            return .stop
        }
        let other = AtomicCounter()
        s.add(name: "other", delay: TimerService.ticks(milliseconds: 400), interval: 1) {
            other.add()
            return .stop
        }
        #expect(t.isPending)
        #expect(t.cancel())
        #expect(!t.cancel())
        #expect(eventually { other.value == 1 })
        #expect(n.value == 0)
        #expect(s.pendingCount == 0)
    }

    @Test func aHandlerChoosesItsNextDelay() {
        let s = started()
        defer { s.stop() }
        let n = AtomicCounter()
        // Retransmission style: 1, 2, 4 ticks, then stop.
        var delays = [2 * 62, 4 * 62]
        let t = s.add(name: "retr", delay: 1, interval: 1) {
            n.add()
            guard !delays.isEmpty else { return .stop }
            return .after(milliseconds: delays.removeFirst())
        }
        #expect(eventually { n.value == 3 })
        #expect(eventually { !t.isPending })
        usleep(300_000)
        #expect(n.value == 3)
    }

    @Test func cancellingARunningTimerWaitsForItsCallback() {
        let s = started()
        defer { s.stop() }
        let entered = AtomicCounter()
        let finished = AtomicCounter()
        let t = s.add(name: "slow", delay: 1, interval: 1) {
            entered.add()
            usleep(300_000)
            finished.add()
            return .again
        }
        #expect(eventually { entered.value == 1 })
        #expect(!t.cancel())  // it was running: not re-armed, and done when cancel returns
        #expect(finished.value == 1)
        usleep(300_000)
        #expect(entered.value == 1)
        #expect(!t.isPending)
    }

    @Test func aCallbackCanCancelItsOwnTimer() {
        let s = started()
        defer { s.stop() }
        let n = AtomicCounter()
        let box = HandleBox()
        box.handle = s.add(name: "self", delay: 1, interval: 1) {
            n.add()
            if n.value == 2 { #expect(box.handle?.cancel() == false) }
            return .again
        }
        #expect(eventually { n.value == 2 })
        usleep(300_000)
        #expect(n.value == 2)
    }

    @Test func timersAddedBeforeStartWaitForTheThreadAndStopEndsThem() {
        let s = TimerService()
        let n = AtomicCounter()
        s.add(name: "early", delay: 1, interval: 1) {
            n.add()
            return .again
        }
        usleep(200_000)
        #expect(n.value == 0)
        let prepared = AtomicCounter()
        s.start {
            prepared.add()
            return true
        }
        #expect(eventually { n.value >= 3 })
        #expect(prepared.value == 1)
        s.stop()
        let after = n.value
        usleep(300_000)
        #expect(n.value == after)
    }

    @Test func aFailedPreparationRunsNoTimer() {
        let s = TimerService()
        let n = AtomicCounter()
        s.add(name: "never", delay: 1, interval: 1) {
            n.add()
            return .again
        }
        s.start { false }
        usleep(300_000)
        s.stop()
        #expect(n.value == 0)
    }

    @Test func intervalsAreRoundedUpToTicks() {
        #expect(TimerService.ticks(milliseconds: 0) == 1)
        #expect(TimerService.ticks(milliseconds: 62) == 1)
        #expect(TimerService.ticks(milliseconds: 63) == 2)
        #expect(TimerService.ticks(milliseconds: 500) == 8)
        #expect(TimerService.ticks(milliseconds: 30_000) == 480)
    }
}

/// Lets a timer callback reach its own handle.
final class HandleBox: @unchecked Sendable {
    var handle: TimerHandle?
}
