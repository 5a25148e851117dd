import Foundation
import XCTest
@testable import Codec

/// PN, DA, TM, DT, DS, IS, AS values and query ranges (PS3.5 6.2, PS3.4 C.2.2.2.5).
final class ValueTests: XCTestCase {

    // MARK: PN

    func testPersonNameParsingAndFormatting() {
        let pn = PersonName(parsing: "Yamada^Tarou=山田^太郎=やまだ^たろう")
        XCTAssertEqual(pn.alphabetic.familyName, "Yamada")
        XCTAssertEqual(pn.alphabetic.givenName, "Tarou")
        XCTAssertEqual(pn.ideographic.familyName, "山田")
        XCTAssertEqual(pn.phonetic.givenName, "たろう")
        XCTAssertEqual(pn.formatted, "Yamada^Tarou=山田^太郎=やまだ^たろう")

        let full = PersonName(parsing: "Adams^John Robert Quincy^^Rev.^B.A. M.Div.")
        XCTAssertEqual(full.alphabetic.middleName, "")
        XCTAssertEqual(full.alphabetic.namePrefix, "Rev.")
        XCTAssertEqual(full.alphabetic.nameSuffix, "B.A. M.Div.")
        XCTAssertEqual(full.formatted, "Adams^John Robert Quincy^^Rev.^B.A. M.Div.")

        // Trailing empty components and groups are dropped (PS3.5 6.2.1.1).
        XCTAssertEqual(PersonName(parsing: "Wang^XiaoDong=王^小東=").formatted, "Wang^XiaoDong=王^小東")
        XCTAssertEqual(PersonName(parsing: "Doe^John^^^").formatted, "Doe^John")
        XCTAssertEqual(PersonName(parsing: "^^^^").formatted, "")
        XCTAssertTrue(PersonName(parsing: "^^^^").isEmpty)
        XCTAssertEqual(PersonName(parsing: "=山田^太郎").formatted, "=山田^太郎", "an empty alphabetic group is kept before a later one")
        XCTAssertEqual(PersonName(parsing: "").formatted, "")
        XCTAssertEqual(PersonName(parsing: "a^b^c^d^e^f").formatted, "a^b^c^d^e^f", "extra components survive in the suffix")

        var built = PersonName()
        built.alphabetic = .init(familyName: "Doe", givenName: "Jane")
        built.phonetic.familyName = "dō"
        XCTAssertEqual(built.formatted, "Doe^Jane==dō")
        XCTAssertEqual(PersonName(parsing: built.formatted), built)
    }

    // MARK: DA

    func testDates() throws {
        let d = try XCTUnwrap(DicomDate("20240229"))
        XCTAssertEqual([d.year, d.month, d.day], [2024, 2, 29])
        XCTAssertEqual(d.description, "20240229")
        XCTAssertEqual(DicomDate("1993.08.22")?.description, "19930822", "ACR-NEMA form")
        XCTAssertEqual(DicomDate(" 20200101 ")?.description, "20200101", "padding")
        for bad in ["20230229", "20201301", "20200100", "20200431", "2020011", "202001011", "2020-01-01", "2020.0101", "abcdefgh", "", "00000000"] {
            XCTAssertNil(DicomDate(bad), bad)
        }
        XCTAssertNotNil(DicomDate("20000229"), "2000 is a leap year")
        XCTAssertNil(DicomDate("19000229"), "1900 is not")
        XCTAssertEqual(d.date, ISO8601DateFormatter().date(from: "2024-02-29T00:00:00Z"))
        XCTAssertEqual(DicomDate("19700101")?.date, Date(timeIntervalSince1970: 0))
        XCTAssertEqual(d.dateComponents.year, 2024)
        XCTAssertEqual(d.dateComponents.date, d.date)
        XCTAssertEqual(DicomDate(Date(timeIntervalSince1970: 86_400 * 365)).description, "19710101")
        XCTAssertLessThan(DicomDate("20191231")!, DicomDate("20200101")!)
    }

    // MARK: TM

    func testTimes() throws {
        let cases: [(String, String, Int64)] = [
            ("07", "07", 7 * 3_600_000_000),
            ("0715", "0715", (7 * 3600 + 15 * 60) * 1_000_000),
            ("071530", "071530", (7 * 3600 + 15 * 60 + 30) * 1_000_000),
            ("071530.5", "071530.5", (7 * 3600 + 15 * 60 + 30) * 1_000_000 + 500_000),
            ("071530.123456", "071530.123456", (7 * 3600 + 15 * 60 + 30) * 1_000_000 + 123_456),
            ("07:15:30.25", "071530.25", (7 * 3600 + 15 * 60 + 30) * 1_000_000 + 250_000),
            ("07:15", "0715", (7 * 3600 + 15 * 60) * 1_000_000),
            ("235960", "235960", (23 * 3600 + 59 * 60 + 60) * 1_000_000),
            ("120000 ", "120000", 12 * 3_600_000_000),
        ]
        for (text, formatted, micros) in cases {
            let t = try XCTUnwrap(DicomTime(text), text)
            XCTAssertEqual(t.description, formatted, text)
            XCTAssertEqual(t.microsecondsSinceMidnight, micros, text)
        }
        for bad in ["24", "2500", "1260", "123061", "7", "071", "07153", "071530.", "071530.1234567", "0715.5", "07:15:", "07:1530", "ab", ""] {
            XCTAssertNil(DicomTime(bad), bad)
        }
        let t = DicomTime("071530.5")!
        XCTAssertEqual(t.fractionDigits, 1)
        XCTAssertEqual(t.microsecond, 500_000)
        XCTAssertEqual(t.dateComponents.nanosecond, 500_000_000)
        XCTAssertEqual(DicomTime("12")!.matchingSpan, 43_200_000_000...46_799_999_999, "an hour covers the whole hour")
        XCTAssertNil(DicomTime(hour: 1, minute: nil, second: 5), "seconds need minutes")
    }

    // MARK: DT

    func testDateTimes() throws {
        let dt = try XCTUnwrap(DicomDateTime("20200315134501.123+0100"))
        XCTAssertEqual(dt.year, 2020); XCTAssertEqual(dt.month, 3); XCTAssertEqual(dt.day, 15)
        XCTAssertEqual(dt.hour, 13); XCTAssertEqual(dt.minute, 45); XCTAssertEqual(dt.second, 1)
        XCTAssertEqual(dt.microsecond, 123_000); XCTAssertEqual(dt.fractionDigits, 3)
        XCTAssertEqual(dt.utcOffsetMinutes, 60)
        XCTAssertEqual(dt.description, "20200315134501.123+0100")
        XCTAssertEqual(dt.date!.timeIntervalSince1970, ISO8601DateFormatter().date(from: "2020-03-15T12:45:01Z")!.timeIntervalSince1970 + 0.123, accuracy: 1e-6)
        XCTAssertEqual(dt.dateComponents.timeZone?.secondsFromGMT(), 3600)

        for text in ["2020", "202003", "20200315", "2020031513", "202003151345", "20200315134501", "20200315134501.000001",
                     "2020-0500", "20200315+1400", "20200315134501.123456-1200"] {
            XCTAssertEqual(DicomDateTime(text)?.description, text, text)
        }
        XCTAssertNil(DicomDateTime("2020031"))
        XCTAssertNil(DicomDateTime("202013"))
        XCTAssertNil(DicomDateTime("20200230"))
        XCTAssertNil(DicomDateTime("2020031525"))
        XCTAssertNil(DicomDateTime("202003151360"))
        XCTAssertNil(DicomDateTime("2020031513.5"), "a fraction needs seconds")
        XCTAssertNil(DicomDateTime("20200315+1500"), "offsets stop at +1400")
        XCTAssertNil(DicomDateTime("20200315-1201"))
        XCTAssertNil(DicomDateTime("20200315+0160"))
        XCTAssertNil(DicomDateTime(""))

        // Without an offset the value is read as UTC unless told otherwise.
        let local = DicomDateTime("20200101000000")!
        XCTAssertEqual(local.date, Date(timeIntervalSince1970: 1_577_836_800))
        XCTAssertEqual(local.date(defaultOffsetMinutes: -300), Date(timeIntervalSince1970: 1_577_836_800 + 5 * 3600))
        XCTAssertEqual(DicomDateTime(Date(timeIntervalSince1970: 1_577_836_800.25), utcOffsetMinutes: 60).description, "20200101010000.250000+0100")
        XCTAssertEqual(DicomDateTime(Date(timeIntervalSince1970: -1), utcOffsetMinutes: 0).description, "19691231235959.000000+0000")
        XCTAssertLessThan(DicomDateTime("20200101120000+0100")!, DicomDateTime("20200101113000+0000")!)
    }

    // MARK: ranges

    func testRanges() throws {
        let r = try XCTUnwrap(DicomRange<DicomDate>("20200101-20201231"))
        XCTAssertEqual(r.lower?.description, "20200101")
        XCTAssertEqual(r.upper?.description, "20201231")
        XCTAssertTrue(r.contains(DicomDate("20200615")!))
        XCTAssertTrue(r.contains(DicomDate("20201231")!))
        XCTAssertFalse(r.contains(DicomDate("20210101")!))
        XCTAssertEqual(r.description, "20200101-20201231")

        let open = try XCTUnwrap(DicomRange<DicomDate>("-20201231"))
        XCTAssertNil(open.lower)
        XCTAssertTrue(open.contains(DicomDate("19000101")!))
        XCTAssertFalse(open.contains(DicomDate("20210101")!))
        let from = try XCTUnwrap(DicomRange<DicomDate>("20200101-"))
        XCTAssertNil(from.upper)
        XCTAssertFalse(from.contains(DicomDate("20191231")!))
        XCTAssertEqual(from.description, "20200101-")
        XCTAssertEqual(DicomRange<DicomDate>("20200101")?.description, "20200101")
        for bad in ["-", "2020-", "20200101-2021", "20201301-", "x-y", ""] {
            XCTAssertNil(DicomRange<DicomDate>(bad), bad)
        }

        // Partial upper bounds cover their whole span.
        let times = try XCTUnwrap(DicomRange<DicomTime>("0700-12"))
        XCTAssertTrue(times.contains(DicomTime("125959.999")!))
        XCTAssertFalse(times.contains(DicomTime("130000")!))
        XCTAssertFalse(times.contains(DicomTime("065959")!))

        // DT: the offset's "-" is not the range's.
        let dts = try XCTUnwrap(DicomRange<DicomDateTime>("20200101000000-0500-20200102000000-0500"))
        XCTAssertEqual(dts.lower?.description, "20200101000000-0500")
        XCTAssertEqual(dts.upper?.description, "20200102000000-0500")
        XCTAssertTrue(dts.contains(DicomDateTime("20200101060000+0000")!))
        XCTAssertFalse(dts.contains(DicomDateTime("20200101040000+0000")!))
        XCTAssertEqual(DicomRange<DicomDateTime>("2019-2020")?.upper?.description, "2020")
        XCTAssertTrue(DicomRange<DicomDateTime>("2019-2020")!.contains(DicomDateTime("20201231235959")!))
        let single = try XCTUnwrap(DicomRange<DicomDateTime>("20200101-0500"))
        XCTAssertEqual(single.lower, single.upper, "a DT with an offset is one value")
    }

    // MARK: DS, IS

    func testDecimalStrings() {
        let good: [(String, Double)] = [("1", 1), ("-1.5", -1.5), ("+2.25", 2.25), (" 3.5 ", 3.5), ("1e3", 1000), ("1.5E-2", 0.015),
                                        (".5", 0.5), ("5.", 5), ("-0", 0), ("00012", 12), ("1e+2", 100), ("6.02e23", 6.02e23)]
        for (s, v) in good { XCTAssertEqual(NumericString.decimal(Substring(s)), v, s) }
        for bad in ["", " ", ".", "+", "1e", "e5", "1.2.3", "1,5", "0x10", "nan", "inf", "Infinity", "1 2", "--1", "1e5.5", "1e999"] {
            XCTAssertNil(NumericString.decimal(Substring(bad)), bad)
        }
    }

    func testIntegerStrings() {
        XCTAssertEqual(NumericString.integer(" 42 "), 42)
        XCTAssertEqual(NumericString.integer("+7"), 7)
        XCTAssertEqual(NumericString.integer("-2147483648"), -2_147_483_648)
        XCTAssertEqual(NumericString.integer("2147483647"), 2_147_483_647)
        XCTAssertEqual(NumericString.integer("000123"), 123)
        for bad in ["2147483648", "-2147483649", "99999999999999999999999", "1.0", "", "-", "1e3", "12a"] {
            XCTAssertNil(NumericString.integer(Substring(bad)), bad)
        }
    }

    func testFormatDecimal() {
        let values: [Double] = [0, 1, -1, 0.1, 1.0 / 3, -2.0 / 3, 123456.789, 1e15, -1e15, 1e16, 12345678901234568, 1e-10, -1.2345678901234e-7,
                                6.02214076e23, .pi, -.pi * 1e100, Double.greatestFiniteMagnitude, -Double.leastNonzeroMagnitude,
                                Double.leastNormalMagnitude, 0.000123456789012345, 999999999999999.9]
        for v in values {
            let s = NumericString.formatDecimal(v)
            // 16 characters leave at least 9 significant digits ("-1.23456789e-300").
            XCTAssertLessThanOrEqual(s.utf8.count, 16, "\(v) → \(s)")
            guard let back = NumericString.decimal(Substring(s)) else { XCTFail("\(v) → '\(s)' is not a valid DS"); continue }
            XCTAssertEqual(back, v, accuracy: abs(v) * 1e-8, "\(v) → \(s)")
        }
        XCTAssertEqual(NumericString.formatDecimal(0.1), "0.1")
        XCTAssertEqual(NumericString.formatDecimal(-3), "-3")
        XCTAssertEqual(NumericString.formatDecimal(1e-5), "1e-5")
        XCTAssertEqual(NumericString.formatDecimal(-0.0), "0")
        XCTAssertEqual(NumericString.formatDecimal(1.0 / 3), "0.33333333333333")
        XCTAssertEqual(NumericString.formatDecimal(.nan), "")
        XCTAssertEqual(NumericString.formatDecimal(.infinity), "")
    }

    // MARK: AS

    func testAgeStrings() {
        XCTAssertEqual(AgeString.parse("045Y")?.value, 45)
        XCTAssertEqual(AgeString.parse("045Y")?.unit, .years)
        XCTAssertEqual(AgeString.parse("003W")?.unit, .weeks)
        XCTAssertEqual(AgeString.parse("012M")?.unit, .months)
        XCTAssertEqual(AgeString.parse("000D")?.value, 0)
        XCTAssertEqual(AgeString.parse("045Y ")?.value, 45, "padding")
        for bad in ["45Y", "0045Y", "045y", "045X", "04 Y", "", "ABCY"] { XCTAssertNil(AgeString.parse(bad), bad) }
        XCTAssertEqual(AgeString.format(5, .days), "005D")
        XCTAssertNil(AgeString.format(1000, .years))
    }
}
