import Foundation

/// A progress bar on standard error: count/total, rate and ETA. On a terminal it redraws one
/// line (at most 10 times a second); otherwise it prints a plain line every `logEvery` seconds,
/// so logs of long runs stay readable.
final class ProgressBar {
    let label: String
    var total: Int?
    let unit: String
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastDraw: UInt64 = 0
    private var count = 0
    private var extra = ""
    private var drawn: (count: Int, note: String)?
    private let tty = isatty(2) != 0
    private let logEvery: Double

    init(_ label: String, total: Int?, unit: String = "it", logEvery: Double = 10) {
        self.label = label
        self.total = total
        self.unit = unit
        self.logEvery = logEvery
    }

    /// Advances to `count` (absolute) with an optional trailing note (e.g. the loss).
    func update(_ count: Int, note: String = "") {
        self.count = count
        extra = note
        let now = DispatchTime.now().uptimeNanoseconds
        let interval: UInt64 = tty ? 100_000_000 : UInt64(logEvery * 1e9)
        if now - lastDraw >= interval || count == total {
            lastDraw = now
            draw(final: false)
        }
    }

    /// Prints `line` on its own line, then redraws the bar (on a terminal) below it.
    func interrupt(_ line: String) {
        FileHandle.standardError.write(Data(((tty ? "\r\u{1B}[2K" : "") + line + "\n").utf8))
        if tty, drawn != nil { draw(final: false) }
    }

    /// Draws the final state and ends the line.
    func finish(note: String? = nil) {
        if let note { extra = note }
        // Off a terminal, the line for the final count may already be printed.
        if !tty, let d = drawn, d.count == count, d.note == extra { return }
        draw(final: true)
    }

    private func draw(final: Bool) {
        drawn = (count, extra)
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let rate = elapsed > 0 ? Double(count) / elapsed : 0
        var line = label + " "
        if let total, total > 0 {
            let frac = min(1, Double(count) / Double(total))
            let width = 24
            let filled = Int(frac * Double(width))
            line += "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
            line += "\(count)/\(total) (\(Int(frac * 100))%)"
            let eta = rate > 0 ? Double(total - count) / rate : 0
            line += String(format: " %.1f %@/s, %@ elapsed, ETA %@", rate, unit, ProgressBar.clock(elapsed), final ? "0s" : ProgressBar.clock(eta))
        } else {
            line += String(format: "%d %@, %.1f %@/s, %@ elapsed", count, unit, rate, unit, ProgressBar.clock(elapsed))
        }
        if !extra.isEmpty { line += "  " + extra }
        let out = tty ? "\r\u{1B}[2K" + line + (final ? "\n" : "") : line + "\n"
        FileHandle.standardError.write(Data(out.utf8))
    }

    static func clock(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let t = Int(s.rounded())
        if t >= 3600 { return String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) }
        if t >= 60 { return String(format: "%dm%02ds", t / 60, t % 60) }
        return "\(t)s"
    }
}
