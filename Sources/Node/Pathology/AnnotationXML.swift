import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Annotation files: the tissue outlines the pipeline writes, in the Aperio ImageScope XML form
/// that slide viewers and pathology tools read (`Annotations/Annotation/Regions/Region/Vertices/
/// Vertex X Y`, coordinates in full-resolution pixels, region type 0 = free-hand polygon), and
/// the well-formedness check for annotation files users upload.
enum AnnotationXML {
    static func tissue(_ map: TissueMap, imageUniqueId: String) -> String {
        var x = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Annotations MicronsPerPixel="0" ImageUniqueId="\(escape(imageUniqueId))" Generator="dicomnode tissue detection">
              <Annotation Id="1" Name="Tissue" ReadOnly="0" NameReadOnly="0" LineColorReadOnly="0" Incremental="0" Type="4" LineColor="65280" Visible="1" Selected="0" MarkupImagePath="" MacroName="">
                <Attributes>
                  <Attribute Name="Method" Id="0" Value="\(escape(method(map)))"/>
                  <Attribute Name="TissueAreaPixels" Id="1" Value="\(map.areaPixels)"/>
                  <Attribute Name="TissueAreaPercent" Id="2" Value="\(format(map.percent))"/>
                  <Attribute Name="ImageSize" Id="3" Value="\(map.fullWidth)x\(map.fullHeight)"/>
                </Attributes>
                <Regions>
                  <RegionAttributeHeaders/>

            """
        for (i, region) in map.regions.enumerated() {
            x += """
                      <Region Id="\(i + 1)" Type="0" Zoom="1" Selected="0" ImageLocation="" ImageFocus="-1" Length="\(format(region.perimeter))" Area="\(region.areaPixels)" LengthMicrons="0" AreaMicrons="0" Text="Tissue" NegativeROA="0" InputRegionId="0" Analyze="1" DisplayId="\(i + 1)">
                        <Attributes/>
                        <Vertices>

                """
            for p in region.outline {
                x += "          <Vertex X=\"\(format(p.x))\" Y=\"\(format(p.y))\" Z=\"0\"/>\n"
            }
            x += "        </Vertices>\n      </Region>\n"
        }
        x += "    </Regions>\n    <Plots/>\n  </Annotation>\n</Annotations>\n"
        return x
    }

    static func method(_ map: TissueMap) -> String {
        guard let t = map.threshold else { return "no contrast: the image is uniform, no tissue found" }
        return "Otsu threshold \(format(t)) of 255 on the luminance of a \(map.width)x\(map.height) copy (1:\(map.factor))"
    }

    static func format(_ v: Double) -> String { String(format: "%.2f", v) }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// nil when the file at `path` is well-formed XML (XML 1.0 §2.1), else why not. External
    /// entities are never fetched.
    static func wellFormednessProblem(path: String) -> String? {
        guard let stream = InputStream(fileAtPath: path) else { return "the file cannot be read" }
        let parser = XMLParser(stream: stream)
        parser.shouldResolveExternalEntities = false
        let delegate = Delegate()
        parser.delegate = delegate
        let ok = parser.parse()
        if !ok || parser.parserError != nil || delegate.error != nil {
            let e = (delegate.error ?? parser.parserError).map { ($0 as NSError).code } ?? -1
            return "it is not well-formed XML (parser error \(e) near line \(parser.lineNumber), column \(parser.columnNumber))"
        }
        return delegate.sawElement ? nil : "it holds no XML element"
    }

    private final class Delegate: NSObject, XMLParserDelegate {
        var sawElement = false
        var error: Error?
        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            sawElement = true
        }
        func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { error = parseError }
    }
}
