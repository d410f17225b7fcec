/// The ImageFolder layout (one sub-folder per class, as torchvision, Keras and Create ML use), with optional
/// top-level `train/` and `val/` folders for an explicit validation split.
/// Probe threads write disjoint slots of a result array through unsafe buffers (no lock per file).
import Foundation

/// A dataset read from disk, with its explicit validation part if the source had one, and its report.
public struct LoadedDataset: Sendable {
    /// Training images (all images when there is no explicit split).
    public var training: Dataset
    /// Images from an explicit `val/` folder, or `nil`.
    public var validation: Dataset?
    public var report: ValidationReport
}

/// Reads folders laid out as `root/<class>/<image>` or `root/{train,val}/<class>/<image>`.
public struct ImageFolderSource: Sendable {
    /// Decode every image once (at the smallest DCT scale) so that truncated and corrupt files are reported
    /// up front; when false, only headers are read.
    public var verifiesPixels = true
    public var maximumPixelCount = DecodeOptions.defaultMaximumPixelCount
    public var rules = ValidationRules()

    public init() {}

    /// Scans `root` and builds the dataset and its report. Throws only when `root` itself cannot be read;
    /// problems with the content end up in the report.
    public func load(_ root: URL) throws -> LoadedDataset {
        var root = root.standardizedFileURL
        var entries = try visibleEntries(root)
        // Archives often wrap everything in one folder: descend while that is all there is.
        while entries.files.isEmpty, entries.folders.count == 1,
            try !visibleEntries(entries.folders[0]).folders.isEmpty,
            !["train", "val", "validation"].contains(entries.folders[0].lastPathComponent.lowercased())
        {
            root = entries.folders[0]
            entries = try visibleEntries(root)
        }
        var report = ValidationReport()
        let lowered = Dictionary(entries.folders.map { ($0.lastPathComponent.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
        if let trainFolder = lowered["train"], let valFolder = lowered["val"] ?? lowered["validation"] {
            let train = try scanClasses(trainFolder, root: root, report: &report)
            let val = try scanClasses(valFolder, root: root, report: &report)
            for file in entries.files { report.skipped.append(.init(path: relative(file, root), reason: "not inside a class folder")) }
            let classNames = Array(Set(train.keys).union(val.keys)).sorted()
            let training = makeDataset(root: root, suffix: "train", classNames: classNames, files: train)
            let validation = makeDataset(root: root, suffix: "val", classNames: classNames, files: val)
            report.summarise(
                classNames: classNames, counts: training.dataset.classCounts,
                validationCounts: validation.dataset.classCounts, tinyImages: training.tiny + validation.tiny, rules: rules)
            return LoadedDataset(training: training.dataset, validation: validation.dataset, report: report)
        }
        let classes = try scanClasses(root, root: root, report: &report)
        let classNames = classes.keys.sorted()
        let training = makeDataset(root: root, suffix: "all", classNames: classNames, files: classes)
        report.summarise(
            classNames: classNames, counts: training.dataset.classCounts, validationCounts: nil,
            tinyImages: training.tiny, rules: rules)
        return LoadedDataset(training: training.dataset, validation: nil, report: report)
    }

    // MARK: - Scanning

    private struct Entries {
        var folders: [URL] = []
        var files: [URL] = []
        /// Symbolic links are never followed: a dataset must not reach outside its own folder.
        var links: [URL] = []
    }

    private struct Probed {
        var url: URL
        var tiny: Bool
    }

    /// Sub-folders and files of `folder`, sorted by name, without hidden entries and macOS resource forks.
    private func visibleEntries(_ folder: URL) throws -> Entries {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        } catch {
            throw ImageDataError.io(path: folder.path, reason: (error as NSError).localizedDescription)
        }
        var entries = Entries()
        for name in names.sorted() where !name.hasPrefix(".") && name != "__MACOSX" {
            let url = folder.appendingPathComponent(name)
            if isSymbolicLink(url) { entries.links.append(url); continue }
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else { continue }
            if isFolder.boolValue { entries.folders.append(url) } else { entries.files.append(url) }
        }
        return entries
    }

    /// Class name → usable image files below `folder`, probing every candidate; everything else is reported.
    private func scanClasses(_ folder: URL, root: URL, report: inout ValidationReport) throws -> [String: [Probed]] {
        let entries = try visibleEntries(folder)
        for file in entries.files {
            report.skipped.append(.init(path: relative(file, root), reason: "not inside a class folder"))
        }
        for link in entries.links {
            report.skipped.append(.init(path: relative(link, root), reason: "symbolic link (not followed)"))
        }
        var result: [String: [Probed]] = [:]
        for classFolder in entries.folders {
            var candidates: [URL] = []
            collectFiles(classFolder, root: root, into: &candidates, report: &report)
            var probed = [Probed?](repeating: nil, count: candidates.count)
            var failures = [String?](repeating: nil, count: candidates.count)
            // Probing decodes; spread it over the cores. Each iteration writes only its own slots.
            probed.withUnsafeMutableBufferPointer { probedSlots in
                failures.withUnsafeMutableBufferPointer { failureSlots in
                    let probedBase = probedSlots.baseAddress!, failureBase = failureSlots.baseAddress!
                    DispatchQueue.concurrentPerform(iterations: candidates.count) { index in
                        do {
                            probedBase[index] = try probe(candidates[index])
                        } catch {
                            failureBase[index] = String(describing: error)
                        }
                    }
                }
            }
            for index in candidates.indices {
                if let failure = failures[index] {
                    report.skipped.append(.init(path: relative(candidates[index], root), reason: failure))
                }
            }
            result[classFolder.lastPathComponent] = probed.compactMap { $0 }
        }
        return result
    }

    /// Image-looking files under `folder` (recursively); hidden and non-image files are reported as skipped.
    private func collectFiles(_ folder: URL, root: URL, into files: inout [URL], report: inout ValidationReport) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else {
            report.skipped.append(.init(path: relative(folder, root), reason: "folder cannot be read"))
            return
        }
        for name in names.sorted() {
            let url = folder.appendingPathComponent(name)
            if isSymbolicLink(url) {
                report.skipped.append(.init(path: relative(url, root), reason: "symbolic link (not followed)"))
                continue
            }
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else { continue }
            if name.hasPrefix(".") || name == "__MACOSX" {
                if !isFolder.boolValue { report.skipped.append(.init(path: relative(url, root), reason: "hidden file")) }
                continue
            }
            if isFolder.boolValue {
                collectFiles(url, root: root, into: &files, report: &report)
            } else if ImageFormat.fileExtensions.contains(url.pathExtension.lowercased()) {
                files.append(url)
            } else {
                let ext = url.pathExtension.isEmpty ? "no extension" : ".\(url.pathExtension)"
                report.skipped.append(.init(path: relative(url, root), reason: "not an image file (\(ext))"))
            }
        }
    }

    /// Reads the header (and, when verifying, decodes at the smallest scale); throws ImageDataError.
    private func probe(_ url: URL) throws -> Probed {
        let data = try ImageDecoder.readFile(url)
        let header = try ImageDecoder.header(data, fileName: url.lastPathComponent, maximumPixelCount: maximumPixelCount)
        if verifiesPixels {
            _ = try ImageDecoder.decode(
                data, fileName: url.lastPathComponent,
                options: DecodeOptions(maximumPixelCount: maximumPixelCount, minimumSize: (1, 1), appliesOrientation: false))
        }
        return Probed(url: url, tiny: min(header.width, header.height) < rules.minimumImageSide)
    }

    private func makeDataset(root: URL, suffix: String, classNames: [String], files: [String: [Probed]])
        -> (dataset: Dataset, tiny: [String])
    {
        var samples: [Sample] = []
        var tiny: [String] = []
        for (label, name) in classNames.enumerated() {
            for probed in files[name] ?? [] {
                let path = relative(probed.url, root)
                samples.append(Sample(label: label, source: .file(probed.url), name: path))
                if probed.tiny { tiny.append(path) }
            }
        }
        return (Dataset(identifier: "folder:\(root.path)#\(suffix)", classNames: classNames, samples: samples), tiny)
    }

    private func isSymbolicLink(_ url: URL) -> Bool {
        (try? FileManager.default.attributesOfItem(atPath: url.path)[.type] as? FileAttributeType) == .typeSymbolicLink
    }

    private func relative(_ url: URL, _ root: URL) -> String {
        let path = url.standardizedFileURL.path, base = root.path.hasSuffix("/") ? root.path : root.path + "/"
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }
}
