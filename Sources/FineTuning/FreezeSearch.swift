/// `"freeze": "auto"`: how a run chooses how much of the base model to train — the candidates, their scores and
/// costs, the successive-halving rounds that bound the search, and the report that says what was chosen and why.
import Foundation
import ImageData
import NeuralNetwork
import Tensors

/// One candidate depth as the search scored it. JSON keys are snake_case.
public struct FreezeCandidateReport: Codable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable {
        /// The policy the model was trained with.
        case chosen
        /// Scored, but another candidate scored higher.
        case outscored
        /// Dropped by successive halving after `rounds` rounds.
        case eliminated
        /// Its short fine-tune diverged (`note` says how); never chosen.
        case diverged
        /// Chosen, but its full run diverged or never beat the majority class, so the run fell back (`note`).
        case failed
        /// Not scored: the search's time share ran out first.
        case skipped
    }

    public var policy: FreezePolicy
    /// Weights it trains, the head's included.
    public var trainableParameterCount: Int
    /// Successive-halving rounds it took part in (the linear probe: 0, it is trained in full first).
    public var rounds: Int
    /// Epochs of its last round.
    public var epochs: Int
    /// Validation accuracy and loss of its last round's best epoch (lowest validation loss).
    public var validationAccuracy: Double?
    public var validationLoss: Double?
    /// Wall time spent on it over all its rounds, features included.
    public var seconds: Double
    public var outcome: Outcome
    public var note: String?

    public init(policy: FreezePolicy, trainableParameterCount: Int, rounds: Int, epochs: Int,
                validationAccuracy: Double?, validationLoss: Double?, seconds: Double, outcome: Outcome,
                note: String? = nil) {
        self.policy = policy
        self.trainableParameterCount = trainableParameterCount
        self.rounds = rounds
        self.epochs = epochs
        self.validationAccuracy = validationAccuracy
        self.validationLoss = validationLoss
        self.seconds = seconds
        self.outcome = outcome
        self.note = note
    }

    enum CodingKeys: String, CodingKey {
        case policy, rounds, epochs, seconds, outcome, note
        case trainableParameterCount = "trainable_parameter_count", validationAccuracy = "validation_accuracy"
        case validationLoss = "validation_loss"
    }
}

/// The whole search: every candidate, the choice and the reason. JSON keys are snake_case.
public struct FreezeSearchReport: Codable, Sendable, Equatable {
    /// The linear probe (`backbone`) first, then the stage boundaries from the deepest cut up, then `none`.
    public var candidates: [FreezeCandidateReport]
    public var chosen: FreezePolicy
    /// Why `chosen` won, in a sentence.
    public var reason: String
    /// Epochs the search could spend on its candidates (`search_budget`), and spent.
    public var budgetEpochs: Int
    public var spentEpochs: Int
    public var rounds: Int
    /// Wall time of the probe and the search, before the full run.
    public var seconds: Double

    public init(candidates: [FreezeCandidateReport], chosen: FreezePolicy, reason: String, budgetEpochs: Int,
                spentEpochs: Int, rounds: Int, seconds: Double) {
        self.candidates = candidates
        self.chosen = chosen
        self.reason = reason
        self.budgetEpochs = budgetEpochs
        self.spentEpochs = spentEpochs
        self.rounds = rounds
        self.seconds = seconds
    }

    enum CodingKeys: String, CodingKey {
        case candidates, chosen, reason, rounds, seconds
        case budgetEpochs = "budget_epochs", spentEpochs = "spent_epochs"
    }
}

/// The schedule of a successive-halving search (Jamieson & Talwalkar, "Non-stochastic Best Arm Identification and
/// Hyperparameter Optimization", AISTATS 2016; Li et al., "Hyperband", JMLR 2018): `rounds` = ⌈log₂ n⌉ rounds
/// that each spend an equal share of the budget on the candidates still in, each round keeping the better half,
/// so the total stays within the budget (give or take the one epoch every candidate gets at least) whatever n is.
public struct SuccessiveHalving: Sendable, Equatable {
    /// Candidates still in at the start of each round, and the epochs each of them trains in it.
    public let survivors: [Int]
    public let epochs: [Int]

    public init(candidates: Int, budgetEpochs: Int) {
        precondition(candidates >= 1 && budgetEpochs >= 1)
        var rounds = 0
        while (1 << rounds) < candidates { rounds += 1 }
        rounds = max(rounds, 1)
        var survivors: [Int] = [], epochs: [Int] = []
        var left = candidates
        for _ in 0..<rounds {
            survivors.append(left)
            epochs.append(max(1, budgetEpochs / rounds / left))
            left = (left + 1) / 2
        }
        self.survivors = survivors
        self.epochs = epochs
    }

    public var rounds: Int { survivors.count }
    /// Candidate epochs the schedule spends when no candidate drops out early.
    public var totalEpochs: Int { zip(survivors, epochs).map(*).reduce(0, +) }
}

extension FreezeCandidateReport {
    /// Orders by validation accuracy, then lower validation loss; the earlier (shallower) candidate wins exact ties.
    static func isBetter(_ a: FreezeCandidateReport, than b: FreezeCandidateReport) -> Bool {
        let (accuracyA, accuracyB) = (a.validationAccuracy ?? -1, b.validationAccuracy ?? -1)
        if accuracyA != accuracyB { return accuracyA > accuracyB }
        return (a.validationLoss ?? .infinity) < (b.validationLoss ?? .infinity)
    }
}

// MARK: - The run's phases

/// The phases of one run before its model is written: the linear probe when anything below the head will train,
/// the search under `"auto"`, and the full run at the chosen depth — each a ``Trainer`` over the same prepared
/// images, so there is one training loop. Progress events carry steps and an ETA over all the phases.
struct FreezeSearch {
    let run: FineTuneRun
    let baseModel: ModelFolder
    let training: Dataset
    let images: PreparedImages
    let started: Date
    let progress: (FineTuneProgress) -> Void
    let isCancelled: () -> Bool
    private(set) var sharedCoreSteps = 0
    private var spec: FineTuneSpec { run.spec }
    /// Steps done by the phases before the current one, and planned for the whole run.
    private var stepOffset = 0
    private var plannedSteps = 0

    init(run: FineTuneRun, baseModel: ModelFolder, training: Dataset, images: PreparedImages, started: Date,
         progress: @escaping (FineTuneProgress) -> Void, isCancelled: @escaping () -> Bool) {
        self.run = run
        self.baseModel = baseModel
        self.training = training
        self.images = images
        self.started = started
        self.progress = progress
        self.isCancelled = isCancelled
    }

    /// What the run trains its model with: the trainer (best weights restored or to be), its plan and policy.
    struct Outcome {
        var trainer: Trainer
        var plan: TrainingPlan
        var policy: FreezePolicy
        var report: FreezeSearchReport?
        var resumedFrom: Int
    }

    private var deadline: Date? {
        spec.timeLimitSeconds > 0 ? started.addingTimeInterval(spec.timeLimitSeconds) : nil
    }

    mutating func execute() throws -> Outcome {
        let stepsPerEpoch = (images.training.count + spec.batchSize - 1) / spec.batchSize
        guard spec.freeze == .auto else {
            let plan = try makePlan(spec.freeze)
            guard plan.trainsBody else {
                plannedSteps = spec.epochs * stepsPerEpoch
                let (trainer, resumed) = try train(plan, epochs: spec.epochs, phase: .training, resumable: true,
                                                   deadline: deadline)
                try trainer.checkBaseline()
                return Outcome(trainer: trainer, plan: plan, policy: spec.freeze, report: nil, resumedFrom: resumed)
            }
            plannedSteps = 2 * spec.epochs * stepsPerEpoch
            let head = try probe(deadline: deadline).plan.trainedState()
            try plan.restore(head)
            let (trainer, resumed) = try train(plan, epochs: spec.epochs, phase: .training, resumable: true,
                                               deadline: deadline)
            try trainer.checkBaseline()
            return Outcome(trainer: trainer, plan: plan, policy: spec.freeze, report: nil, resumedFrom: resumed)
        }
        return try autoSearch(stepsPerEpoch: stepsPerEpoch)
    }

    /// `"auto"`: probe, score every stage boundary by successive halving from the probed head, train the winner.
    private mutating func autoSearch(stepsPerEpoch: Int) throws -> Outcome {
        let searchStart = Date()
        let manifest = baseModel.manifest
        let policies = try FreezeCandidates.policies(graph: baseModel.graph, head: manifest.head,
                                                     inputShape: manifest.inputShape(batch: 1))
        let budget = spec.searchBudget > 0 ? spec.searchBudget : spec.epochs
        let halving = SuccessiveHalving(candidates: max(policies.count, 1), budgetEpochs: budget)
        plannedSteps = (2 * spec.epochs + (policies.isEmpty ? 0 : halving.totalEpochs)) * stepsPerEpoch
        // The search may spend half the time limit; the full run keeps the rest.
        let searchDeadline = spec.timeLimitSeconds > 0 ? started.addingTimeInterval(spec.timeLimitSeconds / 2) : nil

        let probeStart = Date()
        let probe = try self.probe(deadline: searchDeadline)
        let head = probe.plan.trainedState()
        var probeReport = try candidateReport(.backbone, trainer: probe.trainer, plan: probe.plan, rounds: 0,
                                              epochs: spec.epochs, seconds: Date().timeIntervalSince(probeStart))
        var reports = try policies.map { policy -> FreezeCandidateReport in
            let plan = try makePlan(policy)
            return FreezeCandidateReport(policy: policy, trainableParameterCount: Self.trainedCount(plan), rounds: 0,
                                         epochs: 0, validationAccuracy: nil, validationLoss: nil, seconds: 0,
                                         outcome: .skipped, note: nil)
        }
        var alive = Array(reports.indices)
        /// The candidates scored in the last round that ran: the finalists beside the probe; and their trainers, which
        /// the chosen one's full run continues.
        var finalRound: [Int] = []
        var finalTrainers: [Int: (trainer: Trainer, plan: TrainingPlan)] = [:]
        var spent = 0
        for round in 0..<(policies.isEmpty || images.validation == nil ? 0 : halving.rounds) {
            let epochs = halving.epochs[round]
            for index in alive {
                if let searchDeadline, Date() >= searchDeadline { break }
                let candidateStart = Date()
                let plan = try makePlan(reports[index].policy)
                try plan.restore(head)
                reports[index].rounds = round + 1
                reports[index].epochs = epochs
                do {
                    let (trainer, _) = try train(plan, epochs: epochs, phase: .search, resumable: false,
                                                 deadline: searchDeadline)
                    // The best epoch's figures, read rather than restored: the weights stay the last epoch's, so
                    // that the full run can go on from them.
                    let best = trainer.state.history[trainer.state.bestEpoch - 1]
                    reports[index].validationAccuracy = best.validationAccuracy
                    reports[index].validationLoss = best.validationLoss
                    spent += trainer.state.epochsDone
                    if round + 1 == halving.rounds { finalTrainers[index] = (trainer, plan) }
                } catch let error as FineTuneError {
                    switch error {
                    case .diverged, .lossRising:
                        reports[index].outcome = .diverged
                        reports[index].note = error.description
                        reports[index].validationAccuracy = nil
                        reports[index].validationLoss = nil
                    default: throw error
                    }
                }
                reports[index].seconds += Date().timeIntervalSince(candidateStart)
            }
            // The better half goes on (the last round keeps one); diverged and unscored candidates never do.
            let ranked = alive.filter { reports[$0].outcome != .diverged && reports[$0].validationAccuracy != nil }
                .sorted { FreezeCandidateReport.isBetter(reports[$0], than: reports[$1]) || (
                    !FreezeCandidateReport.isBetter(reports[$1], than: reports[$0]) && $0 < $1) }
            finalRound = ranked
            let keep = round + 1 < halving.rounds ? halving.survivors[round + 1] : 1
            // The last round's candidates are all finalists: the choice among them comes after the rounds.
            let isLast = round + 1 == halving.rounds
            for index in ranked.dropFirst(keep) { reports[index].outcome = isLast ? .outscored : .eliminated }
            for index in ranked.prefix(keep) { reports[index].outcome = .outscored }
            alive = Array(ranked.prefix(keep))
            emitSearch(reports: [probeReport] + reports, chosen: nil, reason: "round \(round + 1) of \(halving.rounds)",
                       budget: budget, spent: spent, rounds: halving.rounds, seconds: Date().timeIntervalSince(searchStart))
            if alive.isEmpty { break }
        }

        // The finalists are the probe and the last round's survivors. One validation image is within the noise of
        // a split this small, so the shallowest finalist within one image of the best accuracy wins: it costs
        // less and over-trains less (the probe, trained for all the epochs, wins ties against short fine-tunes).
        var chosen: FreezePolicy = .backbone
        var reason: String
        let format = { (report: FreezeCandidateReport) in
            String(format: "%.4f (loss %.4f)", report.validationAccuracy ?? 0, report.validationLoss ?? 0)
        }
        let margin = 1 / Double(max(images.validation?.count ?? 1, 1))
        let finalists = [probeReport] + finalRound.sorted().map { reports[$0] }   // shallowest first
        let best = finalists.filter { $0.validationAccuracy != nil }.max { FreezeCandidateReport.isBetter($1, than: $0) }
        if images.validation == nil {
            reason = "there is no validation split (validation_fraction 0) to score deeper candidates on, so the run "
                + "keeps the linear probe"
        } else if let best, let pick = finalists.first(where: {
            ($0.validationAccuracy ?? -1) >= best.validationAccuracy! - margin - 1e-9 }) {
            chosen = pick.policy
            let within = pick.policy == best.policy ? "the best validation accuracy"
                : "within one validation image of the best, \(best.policy) at \(format(best)), and shallower"
            reason = pick.policy == .backbone
                ? "the linear probe scored \(format(pick)), \(within): training deeper did not pay on this data"
                : "\(pick.policy) scored \(format(pick)) after \(pick.epochs) epochs from the probed head, \(within), "
                    + "more than one image above the linear probe's \(format(probeReport))"
        } else {
            reason = policies.isEmpty
                ? "the base graph has no stage boundary below its head, so only the linear probe was scored"
                : "no deeper candidate finished a round without diverging (or within the time limit)"
        }
        let searchSeconds = Date().timeIntervalSince(searchStart)
        emitSearch(reports: [probeReport] + reports, chosen: chosen, reason: reason, budget: budget, spent: spent,
                   rounds: halving.rounds, seconds: searchSeconds)
        var outcome: Outcome
        if chosen == .backbone {
            probeReport.outcome = .chosen
            outcome = Outcome(trainer: probe.trainer, plan: probe.plan, policy: .backbone, report: nil, resumedFrom: 0)
        } else {
            let index = reports.firstIndex { $0.policy == chosen }!
            reports[index].outcome = .chosen
            probeReport.outcome = .outscored
            do {
                let (trainer, plan, resumed) = try fullRun(chosen, head: head, searched: finalTrainers[index])
                finalTrainers = [:]
                try trainer.checkBaseline()
                outcome = Outcome(trainer: trainer, plan: plan, policy: chosen, report: nil, resumedFrom: resumed)
            } catch let error as FineTuneError {
                switch error {
                case .diverged, .lossRising, .belowBaseline: break
                default: throw error
                }
                // The shallowest candidate, the probe, is trained already: fall back to it and say why.
                reports[index].outcome = .failed
                reports[index].note = "its full run failed, so the run fell back to the linear probe: \(error)"
                probeReport.outcome = .chosen
                reason += "; but its full run failed (\(error)), so the model is the linear probe (backbone)"
                chosen = .backbone
                outcome = Outcome(trainer: probe.trainer, plan: probe.plan, policy: .backbone, report: nil, resumedFrom: 0)
            }
        }
        if chosen == .backbone { try outcome.trainer.checkBaseline() }
        outcome.report = FreezeSearchReport(candidates: [probeReport] + reports, chosen: chosen, reason: reason,
                                            budgetEpochs: budget, spentEpochs: spent, rounds: halving.rounds,
                                            seconds: searchSeconds)
        return outcome
    }

    // MARK: - Pieces

    /// The full run of the chosen policy. Its first epochs are exactly those of the candidate's last round (the same
    /// plan, head, seed, sample order and rates), so with a constant schedule, a candidate that ran all its epochs
    /// and no checkpoint to resume, the run goes on from the candidate's trainer instead of training them again;
    /// otherwise it starts afresh (a cosine schedule's rates depend on the run's length).
    private mutating func fullRun(_ policy: FreezePolicy, head: [String: Tensor],
                                  searched: (trainer: Trainer, plan: TrainingPlan)?) throws
        -> (Trainer, TrainingPlan, Int)
    {
        let resumable = run.checkpointDirectory.map { CheckpointInspection(directory: $0).resumesAfterEpoch != nil }
            ?? false
        if let (trainer, plan) = searched, spec.schedule == .constant, trainer.stopReason == .completed,
           trainer.state.epochsDone < spec.epochs, !resumable {
            let before = trainer.globalStep, sharedBefore = trainer.sharedCoreSteps
            plannedSteps -= before   // the steps it does not train again
            trainer.run.spec.epochs = spec.epochs
            trainer.run.checkpointDirectory = run.checkpointDirectory
            trainer.deadline = deadline
            try trainer.fit(from: trainer.state.epochsDone, progress: relay(.training, offset: stepOffset - before),
                            isCancelled: isCancelled)
            stepOffset += trainer.globalStep - before
            sharedCoreSteps += trainer.sharedCoreSteps - sharedBefore
            return (trainer, plan, 0)
        }
        let plan = try makePlan(policy)
        try plan.restore(head)
        let (trainer, resumed) = try train(plan, epochs: spec.epochs, phase: .training, resumable: true,
                                           deadline: deadline)
        return (trainer, plan, resumed)
    }

    /// The run's progress callback for one phase: steps counted over the whole run, the ETA from its pace so far.
    private func relay(_ phase: FineTuneProgress.Phase, offset: Int) -> (FineTuneProgress) -> Void {
        let planned = plannedSteps, runStart = started, relay = progress
        return { event in
            var event = event
            event.phase = phase
            event.globalStep += offset
            event.totalSteps = max(planned, event.globalStep)
            let elapsed = Date().timeIntervalSince(runStart)
            event.etaSeconds = elapsed / Double(max(event.globalStep, 1)) * Double(event.totalSteps - event.globalStep)
            relay(event)
        }
    }

    private func makePlan(_ policy: FreezePolicy) throws -> TrainingPlan {
        var phaseSpec = spec
        phaseSpec.freeze = policy
        return try TrainingPlan(base: baseModel, classes: training.classNames.count, spec: phaseSpec,
                                context: run.context)
    }

    /// The new head alone on the frozen backbone, for all the spec's epochs (it trains on cached features).
    private mutating func probe(deadline: Date?) throws -> (trainer: Trainer, plan: TrainingPlan) {
        let plan = try makePlan(.backbone)
        let (trainer, _) = try train(plan, epochs: spec.epochs, phase: .probe, resumable: false, deadline: deadline)
        _ = try trainer.restoreBest()
        return (trainer, plan)
    }

    /// Trains `plan` for `epochs` on the run's images; only the phase that makes the model checkpoints and resumes.
    private mutating func train(_ plan: TrainingPlan, epochs: Int, phase: FineTuneProgress.Phase, resumable: Bool,
                                deadline: Date?) throws -> (Trainer, Int) {
        var phaseRun = run
        phaseRun.spec.epochs = epochs
        if !resumable { phaseRun.checkpointDirectory = nil }
        let trainer = try Trainer(run: phaseRun, plan: plan, imageSpec: baseModel.manifest.input, training: training,
                                  images: images, deadline: deadline)
        let resumed = try trainer.resume(from: phaseRun.checkpointDirectory)
        try trainer.fit(from: resumed, progress: relay(phase, offset: stepOffset), isCancelled: isCancelled)
        stepOffset += trainer.globalStep
        sharedCoreSteps += trainer.sharedCoreSteps
        return (trainer, resumed)
    }

    private func candidateReport(_ policy: FreezePolicy, trainer: Trainer, plan: TrainingPlan, rounds: Int, epochs: Int,
                                 seconds: Double) throws -> FreezeCandidateReport {
        let validation = try trainer.evaluate()
        return FreezeCandidateReport(policy: policy, trainableParameterCount: Self.trainedCount(plan), rounds: rounds,
                                     epochs: epochs, validationAccuracy: validation?.accuracy,
                                     validationLoss: validation?.loss, seconds: seconds, outcome: .outscored, note: nil)
    }

    private static func trainedCount(_ plan: TrainingPlan) -> Int {
        plan.graph.namedParameters().filter { $0.parameter.isTrainable }.reduce(0) { $0 + $1.parameter.value.count }
    }

    private func emitSearch(reports: [FreezeCandidateReport], chosen: FreezePolicy?, reason: String, budget: Int,
                            spent: Int, rounds: Int, seconds: Double) {
        let report = FreezeSearchReport(candidates: reports, chosen: chosen ?? .auto, reason: reason,
                                        budgetEpochs: budget, spentEpochs: spent, rounds: rounds, seconds: seconds)
        let elapsed = Date().timeIntervalSince(started)
        progress(FineTuneProgress(
            kind: .search, phase: .search, epoch: 0, epochs: 0, step: 0, stepsPerEpoch: 0, globalStep: stepOffset,
            totalSteps: plannedSteps, loss: 0, accuracy: 0, learningRate: spec.learningRate, imagesPerSecond: 0,
            etaSeconds: elapsed / Double(max(stepOffset, 1)) * Double(max(plannedSteps - stepOffset, 0)),
            validation: nil, search: report))
    }
}
