import XCTest
@testable import DicomNet

/// Tests of the PS3.8 §9.2 Upper Layer state machine.
final class StateMachineTests: XCTestCase {

    // MARK: - A second, independent transcription of PS3.8 Table 9-10

    /// Table 9-10 transcribed again, transposed (one row per STATE, one column per EVENT), with the
    /// next state written out: "aa8>13" is AA-8 then Sta13, "ae6>3/13" a branching cell, "." empty.
    /// It shares no text with the table in StateMachine.swift, so a slip in one shows against the other.
    static let grid: [String] = [
        //      Evt1  Evt2  Evt3    Evt4    Evt5  Evt6      Evt7  Evt8    Evt9  Evt10   Evt11 Evt12     Evt13    Evt14   Evt15   Evt16 Evt17 Evt18 Evt19
        /*1 */ "ae1>4 .     .       .       ae5>2 .         .     .       .     .       .     .         .        .       .       .     .     .     .",
        /*2 */ ".     .     aa1>13  aa1>13  .     ae6>3/13  .     .       .     aa1>13  .     aa1>13    aa1>13   .       .       aa2>1 aa5>1 aa2>1 aa1>13",
        /*3 */ ".     .     aa8>13  aa8>13  .     aa8>13    ae7>6 ae8>13  .     aa8>13  .     aa8>13    aa8>13   .       aa1>13  aa3>1 aa4>1 .     aa8>13",
        /*4 */ ".     ae2>5 .       .       .     .         .     .       .     .       .     .         .        .       aa2>1   .     aa4>1 .     .",
        /*5 */ ".     .     ae3>6   ae4>1   .     aa8>13    .     .       .     aa8>13  .     aa8>13    aa8>13   .       aa1>13  aa3>1 aa4>1 .     aa8>13",
        /*6 */ ".     .     aa8>13  aa8>13  .     aa8>13    .     .       dt1>6 dt2>6   ar1>7 ar2>8     aa8>13   .       aa1>13  aa3>1 aa4>1 .     aa8>13",
        /*7 */ ".     .     aa8>13  aa8>13  .     aa8>13    .     .       .     ar6>7   .     ar8>9/10  ar3>1    .       aa1>13  aa3>1 aa4>1 .     aa8>13",
        /*8 */ ".     .     aa8>13  aa8>13  .     aa8>13    .     .       ar7>8 aa8>13  .     aa8>13    aa8>13   ar4>13  aa1>13  aa3>1 aa4>1 .     aa8>13",
        /*9 */ ".     .     aa8>13  aa8>13  .     aa8>13    .     .       .     aa8>13  .     aa8>13    aa8>13   ar9>11  aa1>13  aa3>1 aa4>1 .     aa8>13",
        /*10*/ ".     .     aa8>13  aa8>13  .     aa8>13    .     .       .     aa8>13  .     aa8>13    ar10>12  .       aa1>13  aa3>1 aa4>1 .     aa8>13",
        /*11*/ ".     .     aa8>13  aa8>13  .     aa8>13    .     .       .     aa8>13  .     aa8>13    ar3>1    .       aa1>13  aa3>1 aa4>1 .     aa8>13",
        /*12*/ ".     .     aa8>13  aa8>13  .     aa8>13    .     .       .     aa8>13  .     aa8>13    aa8>13   ar4>13  aa1>13  aa3>1 aa4>1 .     aa8>13",
        /*13*/ ".     .     aa6>13  aa6>13  .     aa7>13    .     .       .     aa6>13  .     aa6>13    aa6>13   .       .       aa2>1 ar5>1 aa2>1 aa7>13",
    ]

    struct Expected: Equatable { var action: UpperLayerAction; var next: [UpperLayerState] }

    /// `grid` parsed into [state][event]; records a failure for any malformed token.
    func expectedCells(file: StaticString = #filePath, line: UInt = #line) -> [[Expected?]] {
        XCTAssertEqual(Self.grid.count, 13, "grid rows", file: file, line: line)
        return Self.grid.enumerated().map { row, text in
            let tokens = text.split(separator: " ").map(String.init)
            XCTAssertEqual(tokens.count, 19, "grid row Sta\(row + 1) has \(tokens.count) cells", file: file, line: line)
            return tokens.map { token -> Expected? in
                if token == "." { return nil }
                let parts = token.split(separator: ">").map(String.init)
                guard parts.count == 2, let action = UpperLayerAction(rawValue: parts[0].uppercased()) else {
                    XCTFail("bad grid token \(token) in row Sta\(row + 1)", file: file, line: line)
                    return nil
                }
                let next = parts[1].split(separator: "/").compactMap { Int($0).flatMap(UpperLayerState.init(rawValue:)) }
                XCTAssertEqual(next.count, parts[1].split(separator: "/").count, "bad state in \(token)", file: file, line: line)
                return Expected(action: action, next: next)
            }
        }
    }

    // MARK: - The table as a whole

    func testTableLiteralIsWellFormed() {
        let table = UpperLayerStateMachine.table
        XCTAssertEqual(table.count, UpperLayerEvent.allCases.count)
        let codes = Set(UpperLayerAction.allCases.map(\.code))
        for (index, row) in table.enumerated() {
            let tokens = row.split(separator: " ").map(String.init)
            XCTAssertEqual(tokens.count, UpperLayerState.allCases.count, "Evt\(index + 1) row has \(tokens.count) cells")
            for token in tokens where token != "--" {
                XCTAssertTrue(codes.contains(token), "Evt\(index + 1): unknown action code \(token)")
            }
        }
        XCTAssertEqual(UpperLayerStateMachine.cells.count, 19 * 13)
    }

    func testEveryOneOf247CellsMatchesTheTranscribedGrid() {
        let expected = expectedCells()
        guard expected.count == 13, expected.allSatisfy({ $0.count == 19 }) else { return XCTFail("grid shape") }
        var checked = 0, defined = 0
        for state in UpperLayerState.allCases {
            for event in UpperLayerEvent.allCases {
                checked += 1
                let want = expected[state.rawValue - 1][event.rawValue - 1]
                let got = UpperLayerStateMachine.action(in: state, on: event)
                XCTAssertEqual(got, want?.action, "\(state.code) + \(event.code)")
                guard let want else {
                    XCTAssertNil(UpperLayerStateMachine.transition(from: state, on: event), "\(state.code) + \(event.code)")
                    continue
                }
                defined += 1
                // Every branch of the cell, reached through the static lookup and through `handle`.
                let branches: [(acceptable: Bool, requestor: Bool)] = [(true, true), (false, false)]
                var reached: [UpperLayerState] = []
                for b in branches {
                    let t = UpperLayerStateMachine.transition(from: state, on: event,
                                                              isAssociationAcceptable: b.acceptable, isRequestor: b.requestor)
                    XCTAssertEqual(t?.action, want.action, "\(state.code) + \(event.code)")
                    if let next = t?.next, !reached.contains(next) { reached.append(next) }

                    var machine = UpperLayerStateMachine(state: state)
                    XCTAssertEqual(machine.handle(event, isAssociationAcceptable: b.acceptable, isRequestor: b.requestor),
                                   want.action, "\(state.code) + \(event.code)")
                    XCTAssertTrue(want.next.contains(machine.state), "\(state.code) + \(event.code) → \(machine.state.code)")
                }
                XCTAssertEqual(reached, want.next, "\(state.code) + \(event.code) next states")
                XCTAssertEqual(want.action.nextStates, want.next, "\(want.action.code) definition vs cell \(state.code) + \(event.code)")
            }
        }
        XCTAssertEqual(checked, 247)
        XCTAssertEqual(defined, 123, "cells with an action in Table 9-10")
    }

    func testEveryActionIsUsedByTheTable() {
        var used = Set<UpperLayerAction>()
        for state in UpperLayerState.allCases {
            for event in UpperLayerEvent.allCases {
                if let a = UpperLayerStateMachine.action(in: state, on: event) { used.insert(a) }
            }
        }
        XCTAssertEqual(used, Set(UpperLayerAction.allCases))
    }

    func testEmptyCellsAreReportedAndLeaveTheStateAlone() {
        var machine = UpperLayerStateMachine()
        XCTAssertNil(machine.handle(.evt9))                  // P-DATA request with no association
        XCTAssertEqual(machine.state, .sta1)

        machine = UpperLayerStateMachine(state: .sta6)
        XCTAssertNil(machine.handle(.evt1))                  // A-ASSOCIATE request on an open association
        XCTAssertNil(machine.handle(.evt18))                 // ARTIM does not run in Sta6
        XCTAssertEqual(machine.state, .sta6)

        machine = UpperLayerStateMachine(state: .sta13)
        XCTAssertNil(machine.handle(.evt15))                 // no association left to abort
        XCTAssertEqual(machine.state, .sta13)
    }

    // MARK: - Sequences

    func testAcceptorHappyPath() {
        var m = UpperLayerStateMachine()
        XCTAssertEqual(m.handle(.evt5), .AE5); XCTAssertEqual(m.state, .sta2)
        XCTAssertEqual(m.isRequestor, false)
        XCTAssertTrue(UpperLayerAction.AE5.startsARTIM)
        XCTAssertEqual(UpperLayerAction.AE5.effects(next: .sta2).transport, .acceptConnection)

        XCTAssertEqual(m.handle(.evt6, isAssociationAcceptable: true), .AE6); XCTAssertEqual(m.state, .sta3)
        let ae6 = UpperLayerAction.AE6.effects(next: m.state)
        XCTAssertTrue(ae6.stopsARTIM); XCTAssertFalse(ae6.startsARTIM)
        XCTAssertEqual(ae6.indication, .associate); XCTAssertNil(ae6.sends)

        XCTAssertEqual(m.handle(.evt7), .AE7); XCTAssertEqual(m.state, .sta6)
        XCTAssertEqual(UpperLayerAction.AE7.sendsPDU, .associateAC)
        XCTAssertEqual(m.handle(.evt10), .DT2); XCTAssertEqual(m.state, .sta6)
        XCTAssertEqual(m.handle(.evt9), .DT1); XCTAssertEqual(m.state, .sta6)
        XCTAssertEqual(m.handle(.evt12), .AR2); XCTAssertEqual(m.state, .sta8)
        XCTAssertEqual(UpperLayerAction.AR2.issuesIndication, .release)
        XCTAssertEqual(m.handle(.evt9), .AR7); XCTAssertEqual(m.state, .sta8)   // data may still go out
        XCTAssertEqual(m.handle(.evt14), .AR4); XCTAssertEqual(m.state, .sta13)
        XCTAssertEqual(UpperLayerAction.AR4.sendsPDU, .releaseRP)
        XCTAssertTrue(UpperLayerAction.AR4.startsARTIM)
        XCTAssertEqual(m.handle(.evt17), .AR5); XCTAssertEqual(m.state, .sta1)
        XCTAssertTrue(UpperLayerAction.AR5.stopsARTIM)
    }

    func testRequestorHappyPath() {
        var m = UpperLayerStateMachine()
        XCTAssertEqual(m.handle(.evt1), .AE1); XCTAssertEqual(m.state, .sta4)
        XCTAssertEqual(m.isRequestor, true)
        XCTAssertEqual(UpperLayerAction.AE1.effects(next: .sta4).transport, .connect)
        XCTAssertEqual(m.handle(.evt2), .AE2); XCTAssertEqual(m.state, .sta5)
        XCTAssertEqual(UpperLayerAction.AE2.sendsPDU, .associateRQ)
        XCTAssertEqual(m.handle(.evt3), .AE3); XCTAssertEqual(m.state, .sta6)
        XCTAssertEqual(UpperLayerAction.AE3.issuesIndication, .associateConfirmation(accepted: true))
        XCTAssertEqual(m.handle(.evt9), .DT1)
        XCTAssertEqual(m.handle(.evt10), .DT2)
        XCTAssertEqual(m.handle(.evt11), .AR1); XCTAssertEqual(m.state, .sta7)
        XCTAssertEqual(UpperLayerAction.AR1.sendsPDU, .releaseRQ)
        XCTAssertEqual(m.handle(.evt10), .AR6); XCTAssertEqual(m.state, .sta7)  // peer's last data
        XCTAssertEqual(m.handle(.evt13), .AR3); XCTAssertEqual(m.state, .sta1)
        XCTAssertTrue(UpperLayerAction.AR3.closesTransport)
        XCTAssertEqual(UpperLayerAction.AR3.issuesIndication, .releaseConfirmation)
    }

    func testRequestorRejectedAndConnectAborted() {
        var m = UpperLayerStateMachine()
        m.handle(.evt1); m.handle(.evt2)
        XCTAssertEqual(m.handle(.evt4), .AE4); XCTAssertEqual(m.state, .sta1)
        XCTAssertTrue(UpperLayerAction.AE4.closesTransport)
        XCTAssertEqual(UpperLayerAction.AE4.issuesIndication, .associateConfirmation(accepted: false))

        // A-ABORT request while the TCP connect is still pending.
        m = UpperLayerStateMachine()
        m.handle(.evt1)
        XCTAssertEqual(m.handle(.evt15), .AA2); XCTAssertEqual(m.state, .sta1)
    }

    func testReleaseCollisionRequestorSide() {
        var m = UpperLayerStateMachine()
        m.handle(.evt1); m.handle(.evt2); m.handle(.evt3)
        XCTAssertEqual(m.handle(.evt11), .AR1); XCTAssertEqual(m.state, .sta7)
        XCTAssertEqual(m.handle(.evt12), .AR8); XCTAssertEqual(m.state, .sta9)   // role recorded at AE-1
        XCTAssertEqual(UpperLayerAction.AR8.issuesIndication, .release)
        XCTAssertEqual(m.handle(.evt14), .AR9); XCTAssertEqual(m.state, .sta11)
        XCTAssertEqual(UpperLayerAction.AR9.sendsPDU, .releaseRP)
        XCTAssertEqual(m.handle(.evt13), .AR3); XCTAssertEqual(m.state, .sta1)
    }

    func testReleaseCollisionAcceptorSide() {
        var m = UpperLayerStateMachine()
        m.handle(.evt5); m.handle(.evt6, isAssociationAcceptable: true); m.handle(.evt7)
        XCTAssertEqual(m.handle(.evt11), .AR1); XCTAssertEqual(m.state, .sta7)
        XCTAssertEqual(m.handle(.evt12), .AR8); XCTAssertEqual(m.state, .sta10)  // role recorded at AE-5
        XCTAssertEqual(m.handle(.evt13), .AR10); XCTAssertEqual(m.state, .sta12)
        XCTAssertEqual(UpperLayerAction.AR10.issuesIndication, .releaseConfirmation)
        XCTAssertEqual(m.handle(.evt14), .AR4); XCTAssertEqual(m.state, .sta13)
        XCTAssertEqual(m.handle(.evt17), .AR5); XCTAssertEqual(m.state, .sta1)
    }

    func testAssociateRequestAcceptableByDefault() {
        var m = UpperLayerStateMachine()
        m.handle(.evt5)
        XCTAssertEqual(m.handle(.evt6), .AE6)               // no verdict given: acceptable
        XCTAssertEqual(m.state, .sta3)
        XCTAssertEqual(m.handle(.evt8), .AE8)               // the service-user rejects
        XCTAssertEqual(m.state, .sta13)
        XCTAssertEqual(UpperLayerAction.AE8.sendsPDU, .associateRJ)
        XCTAssertTrue(UpperLayerAction.AE8.startsARTIM)
    }

    func testReleaseCollisionNeedsTheRole() {
        var m = UpperLayerStateMachine(state: .sta7)       // role unknown: no transition
        XCTAssertEqual(UpperLayerStateMachine.action(in: .sta7, on: .evt12), .AR8)
        XCTAssertNil(m.handle(.evt12))
        XCTAssertEqual(m.state, .sta7)
        XCTAssertEqual(m.handle(.evt12, isRequestor: false), .AR8); XCTAssertEqual(m.state, .sta10)

        m = UpperLayerStateMachine(state: .sta7, isRequestor: false)
        XCTAssertEqual(m.handle(.evt12, isRequestor: true), .AR8)  // explicit argument wins
        XCTAssertEqual(m.state, .sta9)
    }

    func testAssociateRequestRejectedByProviderThenARTIMExpiresInSta13() {
        var m = UpperLayerStateMachine()
        m.handle(.evt5)
        XCTAssertEqual(m.handle(.evt6, isAssociationAcceptable: false), .AE6)
        XCTAssertEqual(m.state, .sta13)
        let reject = UpperLayerAction.AE6.effects(next: m.state)
        XCTAssertEqual(reject.sends, .associateRJ)
        XCTAssertTrue(reject.stopsARTIM); XCTAssertTrue(reject.startsARTIM); XCTAssertNil(reject.indication)

        XCTAssertEqual(m.handle(.evt18), .AA2); XCTAssertEqual(m.state, .sta1)
        XCTAssertTrue(UpperLayerAction.AA2.closesTransport)
        XCTAssertTrue(UpperLayerAction.AA2.stopsARTIM)
    }

    func testARTIMExpiresBeforeAssociateRequest() {
        var m = UpperLayerStateMachine()
        m.handle(.evt5)
        XCTAssertEqual(m.handle(.evt18), .AA2); XCTAssertEqual(m.state, .sta1)
        // Peer closes instead: AA-5, just stop the timer.
        m.handle(.evt5)
        XCTAssertEqual(m.handle(.evt17), .AA5); XCTAssertEqual(m.state, .sta1)
    }

    func testAbortReceivedInSta6() {
        var m = UpperLayerStateMachine(state: .sta6)
        XCTAssertEqual(m.handle(.evt16), .AA3); XCTAssertEqual(m.state, .sta1)
        XCTAssertTrue(UpperLayerAction.AA3.closesTransport)
        XCTAssertEqual(UpperLayerAction.AA3.issuesIndication, .abortFromPeer)
        XCTAssertNil(UpperLayerAction.AA3.sendsPDU)
    }

    func testLocalAbortThenPeerClose() {
        var m = UpperLayerStateMachine(state: .sta6)
        XCTAssertEqual(m.handle(.evt15), .AA1); XCTAssertEqual(m.state, .sta13)
        let aa1 = UpperLayerAction.AA1.effects(next: .sta13)
        XCTAssertEqual(aa1.sends, .abort); XCTAssertEqual(aa1.abortSource, .serviceUser); XCTAssertTrue(aa1.startsARTIM)
        XCTAssertEqual(m.handle(.evt17), .AR5); XCTAssertEqual(m.state, .sta1)
    }

    func testUnexpectedPDUs() {
        // A-ASSOCIATE-RQ on an established association.
        var m = UpperLayerStateMachine(state: .sta6)
        XCTAssertEqual(m.handle(.received(pduType: 0x01)), .AA8); XCTAssertEqual(m.state, .sta13)
        let aa8 = UpperLayerAction.AA8.effects(next: .sta13)
        XCTAssertEqual(aa8.sends, .abort); XCTAssertEqual(aa8.abortSource, .serviceProvider)
        XCTAssertEqual(aa8.indication, .providerAbort); XCTAssertTrue(aa8.startsARTIM)
        // While waiting for the close: ordinary PDUs are ignored, RQ / garbage answered with A-ABORT.
        XCTAssertEqual(m.handle(.evt10), .AA6); XCTAssertEqual(m.state, .sta13)
        XCTAssertEqual(m.handle(.evt6), .AA7); XCTAssertEqual(m.state, .sta13)
        XCTAssertEqual(m.handle(.evt19), .AA7); XCTAssertEqual(m.state, .sta13)
        XCTAssertEqual(UpperLayerAction.AA7.sendsPDU, .abort)
        XCTAssertEqual(m.handle(.evt16), .AA2); XCTAssertEqual(m.state, .sta1)

        // Anything but an A-ASSOCIATE-RQ first on an incoming connection: AA-1.
        m = UpperLayerStateMachine()
        m.handle(.evt5)
        XCTAssertEqual(m.handle(.received(pduType: 0x04)), .AA1); XCTAssertEqual(m.state, .sta13)

        // Unknown PDU type during data transfer.
        m = UpperLayerStateMachine(state: .sta6)
        XCTAssertEqual(m.handle(.received(pduType: 0x42)), .AA8); XCTAssertEqual(m.state, .sta13)

        // A-RELEASE-RP without a release request.
        m = UpperLayerStateMachine(state: .sta6)
        XCTAssertEqual(m.handle(.evt13), .AA8); XCTAssertEqual(m.state, .sta13)
    }

    // MARK: - Events, actions, states

    func testReceivedPDUTypeMapping() {
        let expected: [UInt8: UpperLayerEvent] = [1: .evt6, 2: .evt3, 3: .evt4, 4: .evt10, 5: .evt12, 6: .evt13, 7: .evt16]
        for type in 0...255 {
            XCTAssertEqual(UpperLayerEvent.received(pduType: UInt8(type)), expected[UInt8(type)] ?? .evt19, "type \(type)")
        }
        // The outgoing PDU kinds agree with the same numbering.
        for pdu in UpperLayerAction.OutgoingPDU.allCases {
            XCTAssertNotEqual(UpperLayerEvent.received(pduType: pdu.rawValue), .evt19)
        }
    }

    func testDescriptionsAndCodes() {
        XCTAssertEqual(UpperLayerState.allCases.count, 13)
        XCTAssertEqual(UpperLayerEvent.allCases.count, 19)
        XCTAssertEqual(UpperLayerAction.allCases.count, 28)
        XCTAssertEqual(UpperLayerState.sta1.description, "Idle")
        XCTAssertEqual(UpperLayerState.sta2.description, "Transport connection open (Awaiting A-ASSOCIATE-RQ PDU)")
        XCTAssertEqual(UpperLayerState.sta13.code, "Sta13")
        XCTAssertEqual(UpperLayerEvent.evt1.description, "A-ASSOCIATE request (local user)")
        XCTAssertEqual(UpperLayerEvent.evt18.description, "ARTIM timer expired (Association reject/release timer)")
        XCTAssertEqual(UpperLayerEvent.evt19.description, "Unrecognized or invalid PDU received")
        XCTAssertEqual(UpperLayerAction.AE1.code, "AE-1")
        XCTAssertEqual(UpperLayerAction.AR10.code, "AR-10")
        XCTAssertEqual(Set(UpperLayerState.allCases.map(\.description)).count, 13)
        XCTAssertEqual(Set(UpperLayerEvent.allCases.map(\.description)).count, 19)
        // AR-5 and AA-5 have the same definition in PS3.8 ("Stop ARTIM timer", Sta1); all others differ.
        XCTAssertEqual(UpperLayerAction.AR5.definition, UpperLayerAction.AA5.definition)
        XCTAssertEqual(Set(UpperLayerAction.allCases.map(\.definition)).count, 27)
        XCTAssertEqual(UpperLayerAction.AA8.description,
                       "AA-8: Send A-ABORT PDU (service-provider source), issue an A-P-ABORT indication, and start ARTIM timer. Next state is Sta13")
        // Each action's text names exactly the next states its definition gives.
        for action in UpperLayerAction.allCases {
            let named = UpperLayerState.allCases.filter { s in
                action.definition.range(of: "\\b\(s.code)\\b", options: .regularExpression) != nil
            }
            XCTAssertEqual(named, action.nextStates.sorted { $0.rawValue < $1.rawValue }, action.code)
        }
    }

    func testActionFlags() {
        func which(_ p: (UpperLayerAction) -> Bool) -> Set<UpperLayerAction> { Set(UpperLayerAction.allCases.filter(p)) }
        XCTAssertEqual(which(\.closesTransport), [.AE4, .AR3, .AA2, .AA3])
        XCTAssertEqual(which(\.startsARTIM), [.AE5, .AE8, .AR4, .AA1, .AA8])
        XCTAssertEqual(which(\.stopsARTIM), [.AE6, .AR5, .AA2, .AA5])
        XCTAssertEqual(which(\.isBranching), [.AE6, .AR8])
        let sends: [UpperLayerAction: UpperLayerAction.OutgoingPDU] = [
            .AE2: .associateRQ, .AE7: .associateAC, .AE8: .associateRJ, .DT1: .pDataTF, .AR7: .pDataTF,
            .AR1: .releaseRQ, .AR4: .releaseRP, .AR9: .releaseRP, .AA1: .abort, .AA7: .abort, .AA8: .abort,
        ]
        for action in UpperLayerAction.allCases {
            XCTAssertEqual(action.sendsPDU, sends[action], action.code)
            // Apart from AE-6 the flags are the effects on the (only) branch.
            if action != .AE6 {
                for next in action.nextStates { XCTAssertEqual(action.effects(next: next), action.unconditionalEffects, action.code) }
            }
        }
        XCTAssertNil(UpperLayerAction.AE6.sendsPDU)
        XCTAssertNil(UpperLayerAction.AE6.issuesIndication)
        XCTAssertFalse(UpperLayerAction.AE6.startsARTIM)
        XCTAssertNil(UpperLayerAction.AA6.sendsPDU)
        XCTAssertNil(UpperLayerAction.AA6.issuesIndication)
        XCTAssertEqual(UpperLayerAction.AA4.issuesIndication, .providerAbort)
        XCTAssertFalse(UpperLayerAction.AA4.closesTransport)   // the peer already closed it
    }
}
