import ArgumentParser
import FineTuning
import Foundation
import ImageData
import NeuralNetwork

/// `graft finetune`: one fine-tuning run in the terminal, with a progress bar and a final report.
struct Finetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fine-tune a base model on a folder or archive of class folders (or Fashion-MNIST classes).")

    @Option(help: "Base model: a folder, or the name of a base model under Models/.") var base = "fmnist-resnet8"
    @Option(help: "Dataset: a folder of class folders, or a .zip/.tar/.tar.gz of one.") var data: String?
    @Option(help: "Instead of --data: Fashion-MNIST classes, e.g. 5,6,7,8,9 (validated on a split of their training images, tested on their test images).")
    var fashionMnist: String?
    @Option(help: "With --fashion-mnist: the first N training images per class.") var perClassLimit: Int?
    @Option(help: "A folder of class folders to test the saved model on; no choice of the run sees it.")
    var test: String?
    @Option(help: "Output model folder.") var output = "finetuned"
    @Option(help: "Checkpoint folder (resumes from a checkpoint of the same run).") var checkpoints: String?
    @Option(help: "A JSON file with the spec (snake_case keys); the options below override it.") var spec: String?
    @Option(help: "auto (default: chosen on the validation split) | backbone | none | until:<node> | layers:<N>")
    var freeze: String?
    @Option(help: "With --freeze auto: epochs the search may spend over all its candidates (default: --epochs).")
    var searchBudget: Int?
    @Option var epochs: Int?
    @Option var batchSize: Int?
    @Option var learningRate: Double?
    @Option(help: "sgd | adam | adamw") var optimizer: String?
    @Option var seed: UInt64?
    @Option var validationFraction: Double?
    @Flag(help: "Turn on the standard augmentation.") var augment = false
    @Option(help: "With --augment: cache this many augmented views of each image (0 = recompute every step).")
    var augmentedViews: Int?
    @Flag(help: "Recompute the frozen part every step instead of caching its output.") var noFeatureCache = false
    @Option(help: "JSON lines of progress events to this file.") var events: String?

    func makeSpec() throws -> FineTuneSpec {
        var result = FineTuneSpec()
        if let spec { result = try JSONDecoder().decode(FineTuneSpec.self, from: Data(contentsOf: URL(fileURLWithPath: spec))) }
        if let freeze {
            guard let policy = FreezePolicy(commandLine: freeze) else {
                throw ValidationError("--freeze must be auto, backbone, none, until:<node> or layers:<N>")
            }
            result.freeze = policy
        }
        if let searchBudget { result.searchBudget = searchBudget }
        if let epochs { result.epochs = epochs }
        if let batchSize { result.batchSize = batchSize }
        if let learningRate { result.learningRate = learningRate }
        if let optimizer {
            guard let kind = FineTuneSpec.OptimizerKind(rawValue: optimizer) else {
                throw ValidationError("--optimizer must be sgd, adam or adamw")
            }
            result.optimizer = kind
        }
        if let seed { result.seed = seed }
        if let validationFraction { result.validationFraction = validationFraction }
        if augment { result.augmentation = .standard }
        if let augmentedViews { result.augmentedViews = augmentedViews }
        if noFeatureCache { result.featureCache = false }
        return result
    }

    /// `--fashion-mnist 5,6,7`: class indices 0–9, at least two, no repeats.
    static func classes(_ list: String) throws -> [Int] {
        let parts = list.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let classes = parts.compactMap { Int($0) }
        guard classes.count == parts.count, classes.allSatisfy({ (0...9).contains($0) }), Set(classes).count == classes.count,
              classes.count >= 2 else {
            throw ValidationError("--fashion-mnist takes two or more distinct class indices from 0 to 9, e.g. 5,6,7,8,9; got '\(list)'")
        }
        return classes
    }

    func validate() throws {
        guard (data == nil) != (fashionMnist == nil) else { throw ValidationError("give exactly one of --data and --fashion-mnist") }
        if let fashionMnist { _ = try Self.classes(fashionMnist) }
        let spec = try makeSpec()
        do { try spec.validate() } catch let error as FineTuneError { throw ValidationError("\(error)") }
    }

    func run() throws {
        let runSpec = try makeSpec()
        let dataset = try fashionMnist.map { try FineTuneData.fashionMNIST(classes: try Self.classes($0), perClassLimit: perClassLimit) }
            ?? FineTuneData.files(at: URL(fileURLWithPath: data!))
        var run = FineTuneRun(base: try modelFolder(base), dataset: dataset, spec: runSpec,
                              outputDirectory: URL(fileURLWithPath: output),
                              checkpointDirectory: checkpoints.map { URL(fileURLWithPath: $0) })
        run.testSet = try fashionMnist.map { try FineTuneData.fashionMNISTTest(classes: try Self.classes($0)) }
        if let test { run.testSet = try DatasetLoader().load(.folder(URL(fileURLWithPath: test))).training }
        var eventFile: FileHandle?
        if let events {
            guard FileManager.default.createFile(atPath: events, contents: nil),
                  let handle = FileHandle(forWritingAtPath: events) else {
                throw ValidationError("cannot create the --events file \(events); check that its folder exists and is writable")
            }
            eventFile = handle
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let result = try run.run(progress: { event in
            if let eventFile, let line = try? encoder.encode(event) { eventFile.write(line + Data("\n".utf8)) }
            ProgressBar.draw(event)
        })
        try? eventFile?.close()
        FinalReport.print(result)
    }
}
