import XCTest
import CSQLite
@testable import Node
import Codec

/// PS3.4 C.2.2.2 attribute matching (`MatchingKey`) and its SQL prefilter.
final class KeyMatchingTests: XCTestCase {
    // Tags used below.
    let patientName = Tag.patientName                 // PN, VM 1
    let patientID = Tag.patientID                     // LO, VM 1
    let studyDate = Tag(0x0008_0020)                  // DA
    let studyTime = Tag(0x0008_0030)                  // TM
    let acquisitionDateTime = Tag(0x0008_002A)        // DT
    let imageType = Tag(0x0008_0008)                  // CS, VM 2-n
    let modalitiesInStudy = Tag(0x0008_0061)          // CS, VM 1-n
    let otherPatientNames = Tag(0x0010_1001)          // PN, VM 1-n
    let procedureCodeSequence = Tag(0x0008_1032)      // SQ
    let codeValue = Tag(0x0008_0100)                  // SH
    let codingSchemeDesignator = Tag(0x0008_0102)     // SH
    let codeMeaning = Tag(0x0008_0104)                // LO

    /// A key as it arrives in an identifier: encoded into a data set, then read back.
    func key(_ tag: Tag, _ vr: VR, _ values: String..., characterSet: String? = nil) -> MatchingKey {
        var ds = DataSet()
        let nonASCII = values.contains { !$0.unicodeScalars.allSatisfy(\.isASCII) }
        if let characterSet = characterSet ?? (nonASCII ? "ISO_IR 192" : nil) {
            try! ds.set(.specificCharacterSet, vr: .CS, string: characterSet)
        }
        if values.isEmpty {
            ds.set(DataElement(tag: tag, vr: vr, bytes: []))
        } else {
            try! ds.set(tag, vr: vr, strings: values)
        }
        return MatchingKey(element: ds[tag]!, in: ds)
    }

    func item(_ pairs: (Tag, VR, String)...) -> DataSet {
        var ds = DataSet()
        for (tag, vr, value) in pairs {
            if value.isEmpty { ds.set(DataElement(tag: tag, vr: vr, bytes: [])) } else { try! ds.set(tag, vr: vr, string: value) }
        }
        return ds
    }

    // MARK: classification and matching

    func testUniversalMatching() {
        for k in [key(patientID, .LO), key(patientID, .LO, "*"), key(patientID, .LO, "***"),
                  key(studyDate, .DA), key(patientName, .PN, "^^^"), key(patientName, .PN, "*")] {
            XCTAssertEqual(k.kind, .universal)
            XCTAssertTrue(k.matches([]), "universal matches an absent attribute")
            XCTAssertTrue(k.matches([""]))
            XCTAssertTrue(k.matches(["anything"]))
            XCTAssertNil(k.sqlCondition(column: "c"))
        }
    }

    func testSingleValueIsCaseSensitiveForLO() {
        let k = key(patientID, .LO, "Abc123")
        XCTAssertEqual(k.kind, .single("Abc123"))
        XCTAssertTrue(k.matches(["Abc123"]))
        XCTAssertFalse(k.matches(["abc123"]))
        XCTAssertFalse(k.matches(["ABC123"]))
        XCTAssertFalse(k.matches(["Abc1234"]))
        XCTAssertFalse(k.matches(["Abc12"]))
    }

    func testSingleValueComparesScalarsNotCanonicalEquivalence() {
        // "é" precomposed vs "e" + combining acute: equal as Swift Strings, different values in DICOM
        // (and in SQL `=`).
        let k = MatchingKey(tag: patientID, vr: .LO, values: ["Caf\u{E9}"])
        XCTAssertTrue(k.matches(["Caf\u{E9}"]))
        XCTAssertFalse(k.matches(["Cafe\u{301}"]))
    }

    func testPersonNameIsCaseInsensitiveAndIgnoresTrailingEmptyComponents() {
        let k = key(patientName, .PN, "doe^john")
        XCTAssertEqual(k.kind, .single("doe^john"))
        XCTAssertTrue(k.matches(["Doe^John"]))
        XCTAssertTrue(k.matches(["DOE^JOHN"]))
        XCTAssertTrue(k.matches(["Doe^John^^^"]))
        XCTAssertTrue(k.matches(["Doe^John^^^="]))
        XCTAssertFalse(k.matches(["Doe^Johnny"]))
        XCTAssertFalse(k.matches(["Doe"]), "single value matching compares the whole name")
        XCTAssertFalse(k.matches(["Doe^John^A"]))

        let trailing = key(patientName, .PN, "Doe^John^^^")
        XCTAssertEqual(trailing.kind, .single("Doe^John"))
        XCTAssertTrue(trailing.matches(["Doe^John"]))
        XCTAssertTrue(trailing.matches(["doe^john^"]))

        // Only ASCII letters fold (as SQLite's LIKE).
        let accented = MatchingKey(tag: patientName, vr: .PN, values: ["Müller"])
        XCTAssertTrue(accented.matches(["MüLLER"]))
        XCTAssertFalse(accented.matches(["MÜLLER"]))
    }

    func testPersonNameGroups() {
        let alphabetic = key(patientName, .PN, "Yamada^Tarou")
        XCTAssertTrue(alphabetic.matches(["Yamada^Tarou=山田^太郎=やまだ^たろう"]))
        XCTAssertTrue(alphabetic.matches(["Yamada^Tarou^^=山田^太郎"]))
        XCTAssertFalse(alphabetic.matches(["=Yamada^Tarou"]))

        let whole = MatchingKey(tag: patientName, vr: .PN, values: ["Yamada^Tarou=山田^太郎"])
        XCTAssertTrue(whole.matches(["YAMADA^TAROU^^=山田^太郎^^"]))
        XCTAssertFalse(whole.matches(["Yamada^Tarou"]))
        XCTAssertFalse(whole.matches(["Yamada^Tarou=山田^次郎"]))
    }

    func testKeyDecodedWithSpecificCharacterSet() {
        // Latin-1 bytes in the identifier; the stored value is already decoded.
        let k = key(patientName, .PN, "Müller^Jürgen", characterSet: "ISO_IR 100")
        XCTAssertEqual(k.kind, .single("Müller^Jürgen"))
        XCTAssertTrue(k.matches(["müller^jürgen"]))
        let utf8 = key(patientName, .PN, "山田*", characterSet: "ISO_IR 192")
        XCTAssertEqual(utf8.kind, .wildcard("山田*"))
        XCTAssertTrue(utf8.matches(["山田^太郎"]))
    }

    func testWildcardMatching() {
        let star = key(patientID, .LO, "Ab*")
        XCTAssertEqual(star.kind, .wildcard("Ab*"))
        XCTAssertTrue(star.matches(["Ab"]), "* matches an empty run")
        XCTAssertTrue(star.matches(["Abc"]))
        XCTAssertTrue(star.matches(["Ab*x"]))
        XCTAssertFalse(star.matches(["ab"]), "wild card matching is case-sensitive except for PN")
        XCTAssertFalse(star.matches(["xAb"]))

        let question = key(patientID, .LO, "A?c")
        XCTAssertTrue(question.matches(["Abc"]))
        XCTAssertTrue(question.matches(["Aéc"]), "? is one character, also outside ASCII")
        XCTAssertFalse(question.matches(["Ac"]), "? is exactly one character")
        XCTAssertFalse(question.matches(["Abbc"]))

        let inner = key(patientID, .LO, "a*b?c*")
        XCTAssertTrue(inner.matches(["aXbYbZc"]), "needs backtracking over the first b")
        XCTAssertTrue(inner.matches(["abxc"]))
        XCTAssertFalse(inner.matches(["abc"]))

        let leading = key(patientID, .LO, "*Z")
        XCTAssertTrue(leading.matches(["Z"]))
        XCTAssertTrue(leading.matches(["ZZZ"]))
        XCTAssertFalse(leading.matches(["Za"]))

        let name = key(patientName, .PN, "do*^j?hn")
        XCTAssertTrue(name.matches(["DOE^JOHN^^"]))
        XCTAssertTrue(name.matches(["Doe-Smith^Jahn"]))
        XCTAssertFalse(name.matches(["Doe^Jon"]))
    }

    func testWildcardsAreLiteralForOtherVRs() {
        let uid = key(.studyInstanceUID, .UI, "1.2.*")
        XCTAssertEqual(uid.kind, .single("1.2.*"))
        XCTAssertFalse(uid.matches(["1.2.3"]))
        XCTAssertTrue(uid.matches(["1.2.*"]))
        let number = MatchingKey(tag: Tag(0x0020_0013), vr: .IS, values: ["1?"])
        XCTAssertEqual(number.kind, .single("1?"))
        XCTAssertFalse(number.matches(["12"]))
        let date = MatchingKey(tag: studyDate, vr: .DA, values: ["2020*"])
        XCTAssertEqual(date.kind, .single("2020*"))
        XCTAssertFalse(date.matches(["20200101"]))
    }

    func testLiteralPercentAndUnderscore() {
        let single = key(patientID, .LO, "50%_off")
        XCTAssertTrue(single.matches(["50%_off"]))
        XCTAssertFalse(single.matches(["50x_off"]))
        XCTAssertFalse(single.matches(["50%xoff"]))
        let wild = key(patientID, .LO, "50%_*")
        XCTAssertTrue(wild.matches(["50%_off"]))
        XCTAssertFalse(wild.matches(["50xxoff"]))
        XCTAssertEqual(wild.sqlCondition(column: "c")?.parameters, [#"50\%\_%"#])
        let backslash = MatchingKey(tag: patientID, vr: .LO, values: [#"a\b*"#])   // a literal backslash in a LIKE pattern
        XCTAssertEqual(backslash.sqlCondition(column: "c")?.parameters, [#"a\\b%"#])
    }

    func testUIDListMatching() {
        let k = key(.studyInstanceUID, .UI, "1.2.3", "1.2.4", "1.2.10")
        XCTAssertEqual(k.kind, .uidList(["1.2.3", "1.2.4", "1.2.10"]))
        XCTAssertTrue(k.matches(["1.2.4"]))
        XCTAssertTrue(k.matches(["1.2.10"]))
        XCTAssertFalse(k.matches(["1.2.1"]))
        XCTAssertFalse(k.matches(["1.2.3.4"]))
        XCTAssertFalse(k.matches([]))
        XCTAssertEqual(key(.studyInstanceUID, .UI, "1.2.3").kind, .single("1.2.3"))
    }

    func testValueListForOtherVRs() {
        let k = key(modalitiesInStudy, .CS, "CT", "MR")
        XCTAssertEqual(k.kind, .list(["CT", "MR"]))
        XCTAssertTrue(k.matches(["PT", "MR"]))
        XCTAssertTrue(k.matches(["CT"]))
        XCTAssertFalse(k.matches(["PT", "US"]))
        XCTAssertEqual(key(modalitiesInStudy, .CS, "CT", "*").kind, .universal)
    }

    func testDateRanges() {
        let closed = key(studyDate, .DA, "20200110-20200120")
        XCTAssertEqual(closed.kind, .range(lower: "20200110", upper: "20200120"))
        XCTAssertTrue(closed.matches(["20200110"]))
        XCTAssertTrue(closed.matches(["20200115"]))
        XCTAssertTrue(closed.matches(["20200120"]), "bounds are inclusive")
        XCTAssertFalse(closed.matches(["20200109"]))
        XCTAssertFalse(closed.matches(["20200121"]))
        XCTAssertFalse(closed.matches(["garbage"]))

        let from = key(studyDate, .DA, "20200110-")
        XCTAssertEqual(from.kind, .range(lower: "20200110", upper: nil))
        XCTAssertTrue(from.matches(["20200110"]))
        XCTAssertTrue(from.matches(["99991231"]))
        XCTAssertFalse(from.matches(["20200109"]))

        let until = key(studyDate, .DA, "-20200110")
        XCTAssertEqual(until.kind, .range(lower: nil, upper: "20200110"))
        XCTAssertTrue(until.matches(["19000101"]))
        XCTAssertTrue(until.matches(["20200110"]))
        XCTAssertFalse(until.matches(["20200111"]))

        let single = key(studyDate, .DA, "20200110")
        XCTAssertEqual(single.kind, .single("20200110"))
        XCTAssertTrue(single.matches(["20200110"]))
        XCTAssertFalse(single.matches(["20200111"]))

        let inverted = key(studyDate, .DA, "20200120-20200110")
        XCTAssertFalse(inverted.matches(["20200115"]))
    }

    func testTimeRangesWithPartialTimes() {
        let k = key(studyTime, .TM, "1015-1030")
        XCTAssertEqual(k.kind, .range(lower: "1015", upper: "1030"))
        XCTAssertFalse(k.matches(["10"]), "10 is 10:00, before 10:15")
        XCTAssertFalse(k.matches(["1014"]))
        XCTAssertFalse(k.matches(["101459.999999"]))
        XCTAssertTrue(k.matches(["1015"]))
        XCTAssertTrue(k.matches(["101500.123"]))
        XCTAssertTrue(k.matches(["1020"]))
        XCTAssertTrue(k.matches(["1030"]))
        XCTAssertTrue(k.matches(["103059.999"]), "an upper bound covers its whole precision")
        XCTAssertFalse(k.matches(["1031"]))
        XCTAssertFalse(k.matches(["11"]))

        let hours = key(studyTime, .TM, "10-11")
        XCTAssertTrue(hours.matches(["1159"]))
        XCTAssertTrue(hours.matches(["10"]))
        XCTAssertFalse(hours.matches(["12"]))
        XCTAssertFalse(hours.matches(["095959.999999"]))

        let from = key(studyTime, .TM, "101500.5-")
        XCTAssertTrue(from.matches(["101500.5"]))
        XCTAssertTrue(from.matches(["1016"]))
        XCTAssertFalse(from.matches(["101500.4999"]))
        XCTAssertFalse(from.matches(["1015"]))

        let until = key(studyTime, .TM, "-0800")
        XCTAssertTrue(until.matches(["00"]))
        XCTAssertTrue(until.matches(["080059"]))
        XCTAssertFalse(until.matches(["0801"]))

        let single = key(studyTime, .TM, "1015")
        XCTAssertEqual(single.kind, .single("1015"))
        XCTAssertTrue(single.matches(["101500"]))
        XCTAssertTrue(single.matches(["101500.000"]))
        XCTAssertFalse(single.matches(["101530"]), "single value matching: the same instant")
    }

    func testDateTimeRanges() {
        let k = key(acquisitionDateTime, .DT, "20200101-20200131")
        XCTAssertEqual(k.kind, .range(lower: "20200101", upper: "20200131"))
        XCTAssertTrue(k.matches(["2020011512"]))
        XCTAssertTrue(k.matches(["202001"]), "starts on 1 January")
        XCTAssertTrue(k.matches(["20200131235959.999999"]))
        XCTAssertFalse(k.matches(["20200201"]))
        XCTAssertFalse(k.matches(["2019"]))
        XCTAssertFalse(k.matches(["20191231235959"]))
        // Offsets count (PS3.4 C.2.2.2.5.3 d); values without one are UTC.
        XCTAssertFalse(k.matches(["20200131230000-0500"]), "04:00Z on 1 February")
        XCTAssertTrue(k.matches(["20200201010000+0200"]), "23:00Z on 31 January")
        XCTAssertTrue(k.matches(["20191231230000-0200"]), "01:00Z on 1 January")

        let offsetKey = key(acquisitionDateTime, .DT, "20200101120000+0100-")
        XCTAssertTrue(offsetKey.matches(["20200101110000"]))
        XCTAssertFalse(offsetKey.matches(["20200101105959"]))

        let single = key(acquisitionDateTime, .DT, "20200101120000")
        XCTAssertEqual(single.kind, .single("20200101120000"))
        XCTAssertTrue(single.matches(["2020010112"]))
        XCTAssertTrue(single.matches(["20200101130000+0100"]))
        XCTAssertFalse(single.matches(["20200101120001"]))
    }

    func testMultiValuedStoredAttributesMatchAnyValue() {
        let k = key(imageType, .CS, "PRIMARY")
        XCTAssertTrue(k.matches(["ORIGINAL", "PRIMARY", "AXIAL"]))
        XCTAssertFalse(k.matches(["ORIGINAL", "SECONDARY"]))
        let w = key(imageType, .CS, "DERIV*")
        XCTAssertTrue(w.matches(["ORIGINAL", "DERIVED"]))
        let d = key(studyDate, .DA, "20200101-20200102")
        XCTAssertTrue(d.matches(["19990101", "20200102"]))
        let names = key(otherPatientNames, .PN, "smith^j*")
        XCTAssertTrue(names.matches(["Doe^John", "Smith^Jane"]))
    }

    func testEmptyStoredValueMatchesOnlyUniversalKeys() {
        let keys = [key(patientID, .LO, "X"), key(patientID, .LO, "X*"), key(patientID, .LO, "?"),
                    key(patientName, .PN, "Doe"), key(.studyInstanceUID, .UI, "1.2", "1.3"),
                    key(studyDate, .DA, "-20200101"), key(studyTime, .TM, "00-"), key(acquisitionDateTime, .DT, "-2020"),
                    key(modalitiesInStudy, .CS, "CT", "MR")]
        for k in keys {
            XCTAssertFalse(k.matches([]), "\(k.kind)")
            XCTAssertFalse(k.matches([""]), "\(k.kind)")
            XCTAssertFalse(k.matches(["", ""]), "\(k.kind)")
        }
        XCTAssertTrue(key(patientID, .LO).matches([]))
        XCTAssertTrue(key(patientID, .LO, "*").matches([]), "\"*\" is universal (PS3.4 C.2.2.2.4)")
    }

    func testSequenceMatching() {
        let stored: [DataSet] = [
            item((codeValue, .SH, "XR1"), (codingSchemeDesignator, .SH, "L"), (codeMeaning, .LO, "Chest X-ray")),
            item((codeValue, .SH, "CT123"), (codingSchemeDesignator, .SH, "L"), (codeMeaning, .LO, "CT Head")),
        ]
        func sequenceKey(_ items: [DataSet]) -> MatchingKey {
            var ds = DataSet()
            ds.set(procedureCodeSequence, items: items)
            return MatchingKey(element: ds[procedureCodeSequence]!, in: ds)
        }
        let k = sequenceKey([item((codeValue, .SH, "CT123"), (codingSchemeDesignator, .SH, ""), (codeMeaning, .LO, ""))])
        guard case .sequence = k.kind else { return XCTFail("\(k.kind)") }
        XCTAssertTrue(k.matches(sequenceItems: stored))
        XCTAssertFalse(k.matches(sequenceItems: [stored[0]]))
        XCTAssertFalse(k.matches(sequenceItems: []))
        XCTAssertFalse(k.matches([]), "sequence keys do not match string values")
        XCTAssertNil(k.sqlCondition(column: "c"))

        // All item keys must match within one item.
        let both = sequenceKey([item((codeValue, .SH, "XR1"), (codeMeaning, .LO, "CT*"))])
        XCTAssertFalse(both.matches(sequenceItems: stored), "XR1 and CT* are in different items")
        let wild = sequenceKey([item((codeValue, .SH, "CT*"), (codingSchemeDesignator, .SH, "L"))])
        XCTAssertTrue(wild.matches(sequenceItems: stored))

        // Universal forms (C.2.2.2.6): no item, an empty item, an item of universal keys.
        for u in [sequenceKey([]), sequenceKey([DataSet()]), sequenceKey([item((codeValue, .SH, ""), (codeMeaning, .LO, "*"))])] {
            XCTAssertEqual(u.kind, .universal)
            XCTAssertTrue(u.matches(sequenceItems: []))
            XCTAssertTrue(u.matches(sequenceItems: stored))
        }

        // Through a stored data set, and nested sequences.
        var study = DataSet()
        study.set(procedureCodeSequence, items: stored)
        XCTAssertTrue(k.matches(in: study))
        XCTAssertFalse(k.matches(in: DataSet()))
        let requestAttributes = Tag(0x0040_0275)
        var outer = DataSet()
        outer.set(requestAttributes, items: [item((Tag(0x0040_1001), .SH, "RP1"))])
        var nestedStoredItem = item((Tag(0x0040_1001), .SH, "RP2"))
        nestedStoredItem.set(procedureCodeSequence, items: stored)
        var storedOuter = DataSet()
        storedOuter.set(requestAttributes, items: [item((Tag(0x0040_1001), .SH, "RP1")), nestedStoredItem])
        var keyItem = item((Tag(0x0040_1001), .SH, "RP?"))
        keyItem.set(procedureCodeSequence, items: [item((codeValue, .SH, "CT123"))])
        var keySet = DataSet()
        keySet.set(requestAttributes, items: [keyItem])
        let nested = MatchingKey(element: keySet[requestAttributes]!, in: keySet)
        XCTAssertTrue(nested.matches(in: storedOuter), "RP2 holds CT123")
        storedOuter.set(requestAttributes, items: [item((Tag(0x0040_1001), .SH, "RP1"))])
        XCTAssertFalse(nested.matches(in: storedOuter))
    }

    func testPlainDataSetMatching() {
        var ds = DataSet()
        try! ds.set(patientName, vr: .PN, string: "Doe^John^^^")
        try! ds.set(imageType, vr: .CS, strings: ["ORIGINAL", "PRIMARY"])
        XCTAssertTrue(key(patientName, .PN, "DOE^JOHN").matches(in: ds))
        XCTAssertTrue(key(imageType, .CS, "PRIMARY").matches(in: ds))
        XCTAssertFalse(key(patientID, .LO, "X").matches(in: ds))
        XCTAssertTrue(key(patientID, .LO).matches(in: ds))
    }

    // MARK: SQL prefilter

    func testSQLConditions() {
        func sql(_ k: MatchingKey, multi: Bool? = nil) -> String? {
            k.sqlCondition(column: "c", multiValued: multi).map { $0.sql + " " + $0.parameters.description }
        }
        XCTAssertEqual(sql(key(patientID, .LO, "A_1")), #"c = ? ["A_1"]"#)
        XCTAssertEqual(sql(key(patientID, .LO, "A_1*")), #"c LIKE ? ESCAPE '\' ["A\\_1%"]"#)
        XCTAssertEqual(sql(key(patientID, .LO, "?b")), #"c LIKE ? ESCAPE '\' ["_b"]"#)
        XCTAssertEqual(sql(key(patientName, .PN, "Doe^John^^")), #"c LIKE ? ESCAPE '\' ["Doe^John%"]"#)
        XCTAssertEqual(sql(key(patientName, .PN, "D?e*")), #"c LIKE ? ESCAPE '\' ["D%_e%"]"#)
        XCTAssertEqual(sql(key(patientName, .PN, "A=B")), #"c LIKE ? ESCAPE '\' ["A%=B%"]"#)
        XCTAssertEqual(sql(key(.studyInstanceUID, .UI, "1.2", "1.3")), #"c IN (?, ?) ["1.2", "1.3"]"#)
        XCTAssertEqual(sql(key(.studyInstanceUID, .UI, "1.2")), #"c = ? ["1.2"]"#)
        XCTAssertEqual(sql(key(imageType, .CS, "PRIMARY")), #"('\' || c || '\') LIKE ? ESCAPE '\' ["%\\\\PRIMARY\\\\%"]"#)
        XCTAssertEqual(sql(key(modalitiesInStudy, .CS, "CT", "M?")),
                       #"(('\' || c || '\') LIKE ? ESCAPE '\' OR ('\' || c || '\') LIKE ? ESCAPE '\') ["%\\\\CT\\\\%", "%\\\\M_\\\\%"]"#)
        XCTAssertEqual(sql(key(modalitiesInStudy, .CS, "CT", "MR"), multi: false), #"(c = ? OR c = ?) ["CT", "MR"]"#)
        XCTAssertEqual(sql(key(patientID, .LO, "X"), multi: true), #"('\' || c || '\') LIKE ? ESCAPE '\' ["%\\\\X\\\\%"]"#)
        XCTAssertEqual(sql(key(studyDate, .DA, "20200101")), #"c = ? ["20200101"]"#)
        XCTAssertEqual(sql(key(studyDate, .DA, "20200101-20200131")), #"c BETWEEN ? AND ? ["20200101", "20200131"]"#)
        XCTAssertEqual(sql(key(studyDate, .DA, "20200101-")), #"c >= ? ["20200101"]"#)
        XCTAssertEqual(sql(key(studyDate, .DA, "-20200131")), #"c <= ? ["20200131"]"#)
        XCTAssertEqual(sql(key(studyTime, .TM, "1015-1030")), #"c BETWEEN ? AND ? ["1015", "103059.999999"]"#)
        XCTAssertEqual(sql(key(studyTime, .TM, "100000-")), #"c >= ? ["1"]"#)
        XCTAssertEqual(sql(key(studyTime, .TM, "-101500.5")), #"c <= ? ["101500.599999"]"#)
        XCTAssertEqual(sql(key(studyTime, .TM, "1015")), #"c BETWEEN ? AND ? ["1015", "101559.999999"]"#)
        XCTAssertEqual(sql(key(acquisitionDateTime, .DT, "20200101-20200131")), #"c >= ? AND c < ? ["20191231", "20200202"]"#)
        XCTAssertEqual(sql(key(acquisitionDateTime, .DT, "-2020")), #"c < ? ["20210102"]"#)
        XCTAssertNil(sql(key(studyDate, .DA, "20200101-"), multi: true), "no range prefilter on joined values")
        XCTAssertNil(sql(key(patientID, .LO)))
        XCTAssertNil(sql(key(studyDate, .DA, "20200120-20200110")))
    }

    func testSQLPrefilterOnCuratedValues() throws {
        let db = try MemoryDB()
        let cases: [(MatchingKey, [String], Bool?)] = [
            (key(patientID, .LO, "Abc"), ["Abc", "abc", "ABC", "Abcd", "", "50%_off"], nil),
            (key(patientID, .LO, "50%_*"), ["50%_off", "50x_off", "50%xoff", "50%_", "5"], nil),
            (key(patientID, .LO, "*_*"), ["a_b", "ab", "_", "%"], nil),
            (key(patientName, .PN, "doe^john"), ["Doe^John", "DOE^JOHN^^^", "Doe^Johnny", "Doe", "Doe^John=ドウ", "Doe^John^^=ドウ", ""], nil),
            (key(patientName, .PN, "Doe^John=ドウ"), ["Doe^John^^=ドウ^^", "Doe^John=ドウ", "Doe^John", "Doe^John=ドウX"], nil),
            (key(patientName, .PN, "D?e^*"), ["Doe^John", "De^John", "Doe^^=x", "DOE^"], nil),
            (key(patientName, .PN, "a?b"), ["a^=b", "a^^=b^", "a=b", "axb", "ab"], nil),
            (key(patientName, .PN, "a*b"), ["a^=b", "a^^=b^", "a=b=", "ab^^"], nil),
            (key(.studyInstanceUID, .UI, "1.2.3", "1.2.4"), ["1.2.3", "1.2.4", "1.2.34", "1.2"], nil),
            (key(imageType, .CS, "PRIMARY"), [#"ORIGINAL\PRIMARY"#, "PRIMARY", #"PRIMARY\X"#, "PRIMARYX", #"A\PRIMARY\B"#, "SECONDARY"], nil),
            (key(modalitiesInStudy, .CS, "CT", "M?"), [#"PT\MR"#, "CT", "MRI", #"US\XA"#, #"M\CT"#], nil),
            (key(studyDate, .DA, "20200110-20200120"), ["20200109", "20200110", "20200115", "20200120", "20200121", ""], nil),
            (key(studyTime, .TM, "1015-1030"), ["10", "1014", "1015", "101500.123", "1030", "103059.999999", "1031", "11", ""], nil),
            (key(studyTime, .TM, "1015"), ["1015", "101500", "101500.000000", "10", "101501", "1016"], nil),
            (key(studyTime, .TM, "100000-"), ["09", "10", "1000", "100000.0", "23"], nil),
            (key(acquisitionDateTime, .DT, "20200101-20200131"),
             ["2019", "2020", "202001", "20200131235959.999999", "20200201", "20200131230000-0500", "20200201010000+0200",
              "20191231230000-0200", "20191231", "2020+0100"], nil),
        ]
        for (k, stored, multi) in cases {
            try assertSuperset(db, k, stored, multiValued: multi)
        }
    }

    /// Random values and keys over small alphabets rich in special characters: the prefilter
    /// never drops a row that `matches` accepts.
    func testSQLPrefilterIsSupersetOfMatches() throws {
        let db = try MemoryDB()
        var rng = SplitMix64(seed: 0x5EED_C0FFEE)
        let letters = ["a", "A", "%", "_", "^", "=", "é", "É"]
        func text(_ alphabet: [String], _ range: ClosedRange<Int>) -> String {
            (0..<Int.random(in: range, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined()
        }
        for (tag, vr, multi) in [(patientID, VR.LO, false), (patientName, .PN, false), (imageType, .CS, true), (otherPatientNames, .PN, true)] {
            let stored = (0..<80).map { _ in
                (0..<(multi ? Int.random(in: 1...3, using: &rng) : 1)).map { _ in text(letters, 0...5) }.joined(separator: "\\")
            }
            for _ in 0..<300 {
                let values = (0..<(Int.random(in: 0...5, using: &rng) == 0 ? 2 : 1)).map { _ in text(letters + ["*", "?", "*"], 1...4) }
                try assertSuperset(db, MatchingKey(tag: tag, vr: vr, values: values), stored, multiValued: multi)
            }
        }

        func time() -> String {
            var s = String(format: "%02d", Int.random(in: 0...23, using: &rng))
            let precision = Int.random(in: 0...3, using: &rng)
            if precision >= 1 { s += String(format: "%02d", Int.random(in: 0...59, using: &rng)) }
            if precision >= 2 { s += String(format: "%02d", Int.random(in: 0...59, using: &rng)) }
            if precision >= 3 { s += "." + String(String(Int.random(in: 0...999_999, using: &rng)).prefix(Int.random(in: 1...6, using: &rng))) }
            return s
        }
        func date() -> String {
            String(format: "%04d%02d%02d", Int.random(in: 2019...2021, using: &rng), Int.random(in: 1...12, using: &rng), Int.random(in: 1...28, using: &rng))
        }
        func dateTime() -> String {
            var s = date()
            switch Int.random(in: 0...3, using: &rng) {
            case 0: s = String(s.prefix(4))
            case 1: s = String(s.prefix(6))
            case 2: break
            default: s += time()
            }
            if Bool.random(using: &rng) { s += ["+0100", "-0500", "+1400", "-1200", "+0000"].randomElement(using: &rng)! }
            return s
        }
        func range(_ value: () -> String) -> String {
            switch Int.random(in: 0...3, using: &rng) {
            case 0: return value()
            case 1: return value() + "-"
            case 2: return "-" + value()
            default: return value() + "-" + value()
            }
        }
        let times = (0..<150).map { _ in time() }
        let dates = (0..<150).map { _ in date() }
        let dateTimes = (0..<150).map { _ in dateTime() }
        for _ in 0..<300 {
            try assertSuperset(db, MatchingKey(tag: studyTime, vr: .TM, values: [range(time)]), times, multiValued: false)
            try assertSuperset(db, MatchingKey(tag: studyDate, vr: .DA, values: [range(date)]), dates, multiValued: false)
            try assertSuperset(db, MatchingKey(tag: acquisitionDateTime, vr: .DT, values: [range(dateTime)]), dateTimes, multiValued: false)
        }
    }

    /// Loads `stored` (values joined with a backslash) into a table, runs the key's prefilter and
    /// checks it returns every row `matches` accepts; exact VR-1 single values return exactly those.
    private func assertSuperset(_ db: MemoryDB, _ k: MatchingKey, _ stored: [String], multiValued: Bool?,
                        file: StaticString = #filePath, line: UInt = #line) throws {
        try db.load(stored)
        let expected = Set(stored.indices.filter { i in
            k.matches(stored[i].isEmpty ? [] : stored[i].split(separator: "\\", omittingEmptySubsequences: false).map(String.init))
        })
        guard let condition = k.sqlCondition(column: "v", multiValued: multiValued) else {
            switch k.kind {
            case .universal, .sequence, .range: return
            default: return XCTFail("no prefilter for \(k.kind)", file: file, line: line)
            }
        }
        let returned = Set(try db.select("SELECT id FROM t WHERE " + condition.sql, condition.parameters).map { Int($0) })
        XCTAssertTrue(expected.isSubset(of: returned),
                      "\(k.kind) \(condition): missed \(expected.subtracting(returned).map { stored[$0] })", file: file, line: line)
        if case .single = k.kind, multiValued == false, k.vr == .LO {
            XCTAssertEqual(expected, returned, "exact for single-valued strings", file: file, line: line)
        }
    }
}

/// An in-memory SQLite database with one table `t(id, v)`.
private final class MemoryDB {
    private var db: OpaquePointer?
    private var loaded: [String]?
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init() throws {
        guard sqlite3_open(":memory:", &db) == SQLITE_OK else { throw error() }
        try execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    }
    deinit { sqlite3_close(db) }

    private func error() -> NSError {
        NSError(domain: "sqlite", code: 1, userInfo: [NSLocalizedDescriptionKey: db.map { String(cString: sqlite3_errmsg($0)) } ?? "open"])
    }
    func execute(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw error() }
    }
    /// Replaces the rows: row i (from 0) holds `values[i]`.
    func load(_ values: [String]) throws {
        guard values != loaded else { return }
        loaded = values
        try execute("DELETE FROM t")
        for (i, v) in values.enumerated() {
            _ = try select("INSERT INTO t (id, v) VALUES (\(i), ?)", [v])
        }
    }
    /// Runs `sql` with text parameters; the first column of each row as an integer.
    func select(_ sql: String, _ parameters: [String]) throws -> [Int64] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK else { throw error() }
        defer { sqlite3_finalize(statement) }
        for (i, p) in parameters.enumerated() {
            sqlite3_bind_text(statement, Int32(i + 1), p, -1, MemoryDB.transient)
        }
        var out: [Int64] = []
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return out }
            guard rc == SQLITE_ROW else { throw error() }
            out.append(sqlite3_column_int64(statement, 0))
        }
    }
}

/// A seeded generator, so a failure can be replayed.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
