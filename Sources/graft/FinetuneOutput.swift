// What `graft finetune` prints: a progress line redrawn in place, and the final report.
import FineTuning
import Foundation

/// One terminal line redrawn in place: epoch, bar, loss, accuracy, speed, ETA; a full line per epoch.
enum ProgressBar {
    static func draw(_ event: FineTuneProgress) {
        let width = 24
        let filled = Int(event.fractionDone * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        if event.kind == .search {
            if let search = event.search, search.chosen != .auto {
                FileHandle.standardError.write(Data(("\rfreeze search chose \(search.chosen)\n").utf8))
            }
            return
        }
        let phase = event.phase == .training ? "epoch" : event.phase == .probe ? "probe epoch" : "search epoch"
        var line = String(format: "%@ %d/%d [%@] %3.0f%%  loss %.4f  acc %.3f  %.0f img/s  ETA %@",
                          phase, event.epoch, event.epochs, bar, event.fractionDone * 100, event.loss, event.accuracy,
                          event.imagesPerSecond, duration(event.etaSeconds))
        if let validation = event.validation {
            line += String(format: "  val loss %.4f  val acc %.4f", validation.loss, validation.accuracy)
            FileHandle.standardError.write(Data(("\r" + line + "\n").utf8))
        } else {
            FileHandle.standardError.write(Data(("\r" + line).utf8))
        }
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}

/// The summary printed after a run: where the model went, the best epoch, and the validation metrics.
enum FinalReport {
    static func print(_ result: FineTuneResult) {
        Swift.print("Model written to \(result.modelDirectory.path)")
        Swift.print("Training images \(result.trainingImageCount), validation images \(result.validationImageCount), "
            + "trainable parameters \(result.trainableParameterCount)")
        Swift.print("Feature cache: \(result.usedFeatureCache ? "on, at '\(result.cacheBoundary ?? "")'" : "off")"
            + "; stopped: \(result.stopReason.rawValue); best epoch \(result.bestEpoch)"
            + String(format: "; %.1f s", result.seconds))
        if let search = result.freezeSearch { printSearch(search) }
        if let test = result.test {
            Swift.print(String(format: "Test: loss %.4f  accuracy %.4f  top-%d %.4f  (%d images, used for no choice)",
                               test.loss, test.accuracy, test.topK, test.topKAccuracy, test.count))
        }
        guard let validation = result.validation else { return }
        Swift.print(String(format: "Validation: loss %.4f  accuracy %.4f  top-%d %.4f", validation.loss,
                           validation.accuracy, validation.topK, validation.topKAccuracy))
        let nameWidth = max(5, result.labels.map(\.count).max() ?? 5)
        Swift.print("class".padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  precision  recall     f1  support")
        for (label, metrics) in zip(result.labels, validation.perClass) {
            Swift.print(label.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                + String(format: "  %9.4f  %6.4f  %6.4f  %7d", metrics.precision, metrics.recall, metrics.f1, metrics.support))
        }
        Swift.print("Confusion matrix (validation; rows: true, columns: predicted):")
        for row in validation.confusion { Swift.print(row.map { String(format: "%6d", $0) }.joined()) }
    }

    /// The freeze search's table: each candidate with its validation score, cost and outcome, then the choice.
    static func printSearch(_ search: FreezeSearchReport) {
        let width = max(8, search.candidates.map { $0.policy.description.count }.max() ?? 8)
        Swift.print("Freeze search (\(search.rounds) round(s), \(search.spentEpochs) of \(search.budgetEpochs) epochs, "
            + String(format: "%.1f s):", search.seconds))
        Swift.print("policy".padding(toLength: width, withPad: " ", startingAt: 0)
            + "  trainable  rounds  epochs  val acc  val loss  seconds  outcome")
        for candidate in search.candidates {
            let accuracy = candidate.validationAccuracy.map { String(format: "%7.4f", $0) } ?? "      -"
            let loss = candidate.validationLoss.map { String(format: "%8.4f", $0) } ?? "       -"
            Swift.print(candidate.policy.description.padding(toLength: width, withPad: " ", startingAt: 0)
                + String(format: "  %9d  %6d  %6d  ", candidate.trainableParameterCount, candidate.rounds, candidate.epochs)
                + accuracy + "  " + loss + String(format: "  %7.2f  ", candidate.seconds) + candidate.outcome.rawValue
                + (candidate.note.map { " (\($0))" } ?? ""))
        }
        Swift.print("Chosen: \(search.chosen), because \(search.reason)")
    }
}
