// imagebench: generates synthetic camera-sized JPEGs and measures Graft's decode + resize to the model input
// size on either path (reference: full decode, torchvision's Resize + CenterCrop with Pillow's resampling; fast:
// DCT-scaled decode first), for bench/image-decode.sh to compare with Pillow on the same files; and counts how
// often the fast path changes a model's top-1 against the reference path.
//
//   imagebench generate DIR [--count N] [--seed S]
//   imagebench run DIR [--size 224] [--repeat R] [--threads T] [--path reference|fast]
//   imagebench dump FILE OUT.ppm [--size 224] [--path reference|fast]
//   imagebench agree MODEL_DIR FILE...
import CTurboJPEG
import Dispatch
import FineTuning
import Foundation
import ImageData
import Tensors

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("imagebench: \(message)\n".utf8))
    exit(2)
}

func option(_ name: String, _ arguments: [String], default value: String) -> String {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return value }
    return arguments[index + 1]
}

// MARK: - Generate

/// Photo-like content: smooth lighting, a few textured objects and sensor noise, so entropy decoding costs
/// about what a real photo costs (flat synthetic images decode unrealistically fast).
func syntheticPhoto(width: Int, height: Int, generator: inout SeededGenerator) -> [UInt8] {
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    let base = (0..<3).map { _ in Float(60 + generator.next() % 120) }
    let frequency = (0..<3).map { _ in Float(0.01 + Double(generator.nextUniform()) * 0.05) }
    let blobs = (0..<6).map { _ in
        (Float(generator.nextUniform()) * Float(width), Float(generator.nextUniform()) * Float(height),
         Float(0.05 + 0.2 * Double(generator.nextUniform())) * Float(min(width, height)), Float(generator.next() % 200))
    }
    var noiseState = generator.next()
    pixels.withUnsafeMutableBufferPointer { out in
        for y in 0..<height {
            let fy = Float(y)
            for x in 0..<width {
                let fx = Float(x)
                var shade: Float = 0
                for blob in blobs {
                    let dx = fx - blob.0, dy = fy - blob.1
                    if dx * dx + dy * dy < blob.2 * blob.2 { shade = blob.3 - 100 }
                }
                noiseState = noiseState &* 6364136223846793005 &+ 1442695040888963407
                let noise = Float(Int(noiseState >> 59) - 16) * 0.8
                for c in 0..<3 {
                    let texture = 25 * sin(fx * frequency[c] + fy * frequency[(c + 1) % 3])
                    let lighting = 40 * Float(x + y) / Float(width + height)
                    let value = base[c] + texture + lighting + shade * (c == 1 ? 0.5 : 1) + noise
                    out[(y * width + x) * 3 + c] = UInt8(max(0, min(255, value)))
                }
            }
        }
    }
    return pixels
}

func generate(_ folder: URL, count: Int, seed: UInt64) {
    try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    // 1 to 12 megapixels, landscape and portrait, as phones and cameras produce.
    let sizes = [(1152, 864), (1632, 1224), (2304, 1728), (2448, 3264), (3264, 2448), (4000, 3000)]
    var generator = SeededGenerator(seed: seed)
    guard let handle = tjInitCompress() else { fail("cannot create a compressor") }
    defer { tjDestroy(handle) }
    for index in 0..<count {
        let (width, height) = sizes[index % sizes.count]
        let pixels = syntheticPhoto(width: width, height: height, generator: &generator)
        var buffer: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let status = pixels.withUnsafeBufferPointer {
            tjCompress2(handle, $0.baseAddress, Int32(width), 0, Int32(height), Int32(TJPF_RGB.rawValue), &buffer, &size,
                Int32(TJSAMP_420.rawValue), 90, 0)
        }
        if status != 0 { fail(String(cString: tjGetErrorStr2(handle))) }
        let name = String(format: "photo-%03d-%dx%d.jpg", index, width, height)
        _ = FileManager.default.createFile(atPath: folder.appendingPathComponent(name).path, contents: Data(bytes: buffer!, count: Int(size)))
        tjFree(buffer)
    }
    print("generated \(count) JPEGs in \(folder.path)")
}

// MARK: - Run

/// The bench's input spec: a side × side input after the ImageNet evaluation crop (0.875: 256 → 224), on the
/// reference path or the fast one.
func benchSpec(side: Int, path: String) -> InputSpec {
    guard path == "reference" || path == "fast" else { fail("--path is reference or fast, got \(path)") }
    return InputSpec(channels: 3, height: side, width: side, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5],
                     cropFraction: 0.875, fastJPEG: path == "fast")
}

func run(_ folder: URL, side: Int, repeats: Int, threads: Int, path: String) {
    let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
        .filter { $0.lowercased().hasSuffix(".jpg") }.sorted().map { folder.appendingPathComponent($0) }
    if files.isEmpty { fail("no .jpg files in \(folder.path)") }
    let contents = files.map { try! Data(contentsOf: $0) }  // both sides read from the page cache; keep I/O out
    let spec = benchSpec(side: side, path: path)
    let options = spec.decodeOptions()
    var checksum = 0
    let start = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<repeats {
        if threads == 1 {
            for (index, data) in contents.enumerated() {
                let image = try! ImageDecoder.decode(data, fileName: files[index].lastPathComponent, options: options)
                checksum &+= Int(spec.prepare(image).pixels[side * side])
            }
        } else {
            DispatchQueue.concurrentPerform(iterations: threads) { worker in
                for index in stride(from: worker, to: contents.count, by: threads) {
                    let image = try! ImageDecoder.decode(contents[index], options: options)
                    _ = spec.prepare(image)
                }
            }
        }
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let imagesPerSecond = Double(files.count * repeats) / seconds
    print(String(format: "graft path=%@ images=%d seconds=%.3f images_per_second=%.2f threads=%d checksum=%d",
        path, files.count * repeats, seconds, imagesPerSecond, threads, checksum))
}

/// Writes one file's 224×224 result as a binary PPM, so the bench can check Graft and Pillow agree.
func dump(_ file: URL, side: Int, path: String, to output: URL) {
    let spec = benchSpec(side: side, path: path)
    let image = spec.prepare(try! ImageDecoder.decode(contentsOf: file, options: spec.decodeOptions()))
    var data = Data("P6\n\(side) \(side)\n255\n".utf8)
    data.append(contentsOf: image.pixels)
    _ = FileManager.default.createFile(atPath: output.path, contents: data)
}

/// Top-1 of each file on both paths through the model's own Classifier (its spec, with and without fast_jpeg):
/// how often they agree, and the largest change of a top-1 probability.
func agree(model: URL, files: [URL]) {
    let classifier: Classifier
    do { classifier = try Classifier(folder: model, context: ComputeContext(threads: 1)) } catch { fail("\(error)") }
    var fast = classifier.spec
    fast.fastJPEG = true
    var agreeing = 0, largest = 0.0
    for file in files {
        do {
            let reference = try classifier.classify([Classifier.prepare(contentsOf: file, spec: classifier.spec)], topK: 1000)[0]
            let scaled = try classifier.classify([Classifier.prepare(contentsOf: file, spec: fast)], topK: 1000)[0]
            let top = reference.candidates[0], fastTop = scaled.candidates[0]
            let sameLabel = scaled.candidates.first { $0.label == top.label }!
            largest = max(largest, abs(top.probability - sameLabel.probability))
            if top.label == fastTop.label { agreeing += 1 }
            print(String(format: "%@: reference %@ %.3f, fast %@ %.3f", file.lastPathComponent, top.label,
                         top.probability, fastTop.label, fastTop.probability))
        } catch {
            fail("\(file.path): \(error)")
        }
    }
    print(String(format: "top-1 agreement fast/reference: %d of %d, largest change of the reference top-1's probability %.3f",
                 agreeing, files.count, largest))
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first, arguments.count >= 2 else {
    fail("usage: imagebench generate DIR [--count N] [--seed S] | run DIR [--size 224] [--repeat R] [--threads T] "
        + "[--path reference|fast] | dump FILE OUT.ppm | agree MODEL_DIR FILE...")
}
let folder = URL(fileURLWithPath: arguments[1])
switch command {
case "generate":
    generate(folder, count: Int(option("--count", arguments, default: "12"))!, seed: UInt64(option("--seed", arguments, default: "1"))!)
case "run":
    run(folder, side: Int(option("--size", arguments, default: "224"))!, repeats: Int(option("--repeat", arguments, default: "3"))!,
        threads: Int(option("--threads", arguments, default: "1"))!, path: option("--path", arguments, default: "reference"))
case "dump":
    guard arguments.count >= 3 else { fail("usage: imagebench dump FILE OUT.ppm [--size 224]") }
    dump(folder, side: Int(option("--size", arguments, default: "224"))!, path: option("--path", arguments, default: "reference"),
         to: URL(fileURLWithPath: arguments[2]))
case "agree":
    guard arguments.count >= 3 else { fail("usage: imagebench agree MODEL_DIR FILE...") }
    agree(model: folder, files: arguments.dropFirst(2).map { URL(fileURLWithPath: $0) })
default:
    fail("unknown command \(command)")
}
