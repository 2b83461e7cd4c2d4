import Testing

@testable import SwiftletSDK

/// `TimerHandle.restart`: a target's timer moved to a new expiry and event instead of a new
/// handle (tm's final-response timer after a provisional reply, its lifetime timer becoming
/// the wait timer).
@Suite struct TimerRestartTests {
    final class Recorder: TimerTarget {
        let clock: VirtualClock
        var fired: [(event: Int, at: Int)] = []
        /// What a callback got back from restarting its own timer.
        var restartedItself: Bool?
        var handle: TimerHandle?
        init(_ clock: VirtualClock) { self.clock = clock }
        func timerFired(_ event: Int) -> TimerNext {
            fired.append((event, clock.elapsedMilliseconds))
            if event == 9 { restartedItself = handle?.restart(afterMilliseconds: 100, name: "again", event: 10) }
            return .stop
        }
    }

    @Test func aWaitingTimerMovesToItsNewExpiryAndEvent() {
        let clock = VirtualClock()
        let r = Recorder(clock)
        let t = clock.schedule(afterMilliseconds: 1000, name: "first", target: r, event: 1)
        clock.advance(milliseconds: 500)
        #expect(t.restart(afterMilliseconds: 2000, name: "second", event: 2))
        #expect(t.name == "second")
        #expect(clock.pendingCount == 1)
        clock.advance(milliseconds: 1000)  // the first expiry passes: nothing
        #expect(r.fired.isEmpty)
        clock.advance(milliseconds: 1000)
        #expect(r.fired.map(\.event) == [2])
        #expect(r.fired.map(\.at) == [2500])
        #expect(clock.pendingCount == 0)
    }

    @Test func aStoppedOrFinishedTimerIsArmedAgain() {
        let clock = VirtualClock()
        let r = Recorder(clock)
        let stopped = clock.schedule(afterMilliseconds: 1000, name: "stopped", target: r, event: 3)
        #expect(stopped.stop())
        #expect(stopped.restart(afterMilliseconds: 500, name: "stopped", event: 4))
        let ran = clock.schedule(afterMilliseconds: 250, name: "ran", target: r, event: 5)
        clock.advance(milliseconds: 250)
        #expect(r.fired.map(\.event) == [5])
        #expect(ran.restart(afterMilliseconds: 500, name: "ran", event: 6))
        clock.advance(milliseconds: 250)
        #expect(r.fired.map(\.event) == [5, 4])
        clock.advance(milliseconds: 250)
        #expect(r.fired.map(\.event) == [5, 4, 6])
        #expect(!stopped.isPending && !ran.isPending)
    }

    @Test func aRunningTimerIsNotMoved() {
        let clock = VirtualClock()
        let r = Recorder(clock)
        r.handle = clock.schedule(afterMilliseconds: 125, name: "self", target: r, event: 9)
        clock.advance(milliseconds: 125)
        #expect(r.restartedItself == false)
        clock.advance(milliseconds: 1000)
        #expect(r.fired.map(\.event) == [9])
        #expect(clock.pendingCount == 0)
    }

    /// Timers due at the same tick run in order even when one of them stops another one of
    /// that tick and arms it again: the moved timer runs at its new expiry, once, and the
    /// others of the tick still run.
    @Test func aTimerStoppedAndArmedAgainByAnotherOfItsTickRunsAtItsNewExpiry() {
        let clock = VirtualClock()
        var order: [String] = []
        var moved: TimerHandle?
        var movedAgain: Bool?
        let first = clock.after(milliseconds: 125, name: "a") { order.append("a") }
        moved = clock.after(milliseconds: 125, name: "b") { order.append("b") }
        let third = clock.after(milliseconds: 125, name: "c") { order.append("c") }
        // The wheel runs a tick's timers in the order of its list: the last added first.
        _ = clock.after(milliseconds: 125, name: "mover") {
            order.append("mover")
            moved?.stop()
            movedAgain = moved?.restart(afterMilliseconds: 250, name: "b", event: 0)
        }
        clock.advance(milliseconds: 125)
        #expect(movedAgain == true)
        #expect(order == ["mover", "c", "a"])
        #expect(clock.pendingCount == 1)
        clock.advance(milliseconds: 250)
        #expect(order == ["mover", "c", "a", "b"])
        #expect(clock.pendingCount == 0)
        #expect(!first.isPending && !third.isPending && moved?.isPending == false)
    }
}
