// Scenario files (`.tests`): an analyst's tests of one flow, run by `retailflow test`.
//
// The lexical rules are the flow language's (imported from Flow.g4: keywords, strings, numbers,
// durations, record literals, expressions, comments); this file adds the scenario words. Layout
// is free, as in .flow files; each scenario closes with `end`. docs/testing.md is the reference.
//
// Only testing/ sees this grammar's parse tree; it is turned into testing/scenario.h right away.
grammar Scenario;
import Flow;

scenarioFile : testsHeader scenario* EOF ;

testsHeader : TESTS FOR flow=ident ;

scenario : SCENARIO title=STRING scenarioLine* END ;

scenarioLine
  : GIVEN INPUT recordValue                                   # givenInput
  | GIVEN INPUT FROM file=STRING                              # givenInputFile
  | GIVEN KEY key=STRING                                      # givenKey
  | GIVEN TIME at=STRING                                      # givenTime
  | ANSWER opRef (FOR callMatch ((AND | ',') callMatch)*)? outcome (THEN outcome)*   # answerLine
  | AFTER duration                                            # afterLine
  | APPROVE state=ident BY actor=word (SAYING comment=STRING)?   # approveLine
  | REJECT state=ident BY actor=word (SAYING comment=STRING)?    # rejectLine
  | NOBODY DECIDES state=ident                                # nobodyLine
  | EVENT name=ident KEY key=expr (WITH recordValue)?         # eventLine
  | EXPECT expectation                                        # expectLine
  ;

opRef : connector=ident '.' operation=ident ;

// A field of the call's input (dotted) compared with a value: `location = "PAR-01"`.
callMatch : fieldPath '=' expr ;
fieldPath : ident ('.' fieldName)* ;

// One answer, for `count` calls (default: once, or every call when it is the last one).
outcome
  : WITH recordValue (count)?                                 # valueOutcome
  | errorKind (message=STRING)? (count)?                      # errorOutcome
  ;
count : INT TIMES | ONCE ;

recordValue : '{' (arg (',' arg)*)? '}' ;

word : STRING | ident ;

expectation
  : ENDS IN state=target                                      # endsIn
  | FAILS WITH state=target                                   # failsWith
  | IS COMPENSATED                                            # isCompensated
  | STATUS IS status=ident                                    # statusIs
  | WAITS AT state=ident                                      # waitsAt
  | PASSES THROUGH ident (THEN ident)*                        # passesThrough
  | NEVER REACHES state=ident                                 # neverReaches
  | opRef IS NOT CALLED                                       # notCalled
  | opRef IS CALLED count (WITH callMatch ((AND | ',') callMatch)*)?          # calledTimes
  | opRef IS UNDONE                                           # isUndone
  | OUTCOME IS text=STRING                                    # outcomeIs
  | TASK state=ident TITLE IS text=STRING                     # taskTitleIs
  | TASK state=ident DETAILS IS text=STRING                   # taskDetailsIs
  | state=ident ESCALATES TO to=ident AFTER duration           # escalatesTo
  | fieldPath IS expr                                         # dataIs
  ;

// After a dot any word names a field, the scenario's words included (`reservation.status`).
fieldName
  : ident | WORKFLOW | STEP | CALL | ERROR | TIMEOUT | IN | AS | ON | WITH | WHEN | IF | THEN
  | GO | USES | UNDO | UNTIL | WHERE | WITHIN | AND | OR | NOT | TRUE | FALSE | NULL_LITERAL
  ;

// The flow's words that may name a field, a role or a state, plus the scenario's own.
ident
  : ID
  | RESULT | EVENT | DECISION | APPROVED | REJECTED | INPUT | AT | MOST | ONCE | A | TIME | BY
  | UP | TO | TIMES | WAITING | DOUBLING | MULTIPLYING | JITTER | OPTIONAL | NOBODY | DECIDES
  | DETAILS | VERSION
  | TESTS | SCENARIO | GIVEN | KEY | FROM | ANSWER | AFTER | APPROVE | REJECT | SAYING | EXPECT
  | ENDS | FAILS | IS | COMPENSATED | STATUS | WAITS | PASSES | THROUGH | NEVER | REACHES | CALLED
  | UNDONE | OUTCOME | TASK | TITLE | ESCALATES
  ;

TESTS : 'tests' ;
SCENARIO : 'scenario' ;
GIVEN : 'given' ;
KEY : 'key' ;
FROM : 'from' ;
ANSWER : 'answer' ;
AFTER : 'after' ;
APPROVE : 'approve' ;
REJECT : 'reject' ;
SAYING : 'saying' ;
EXPECT : 'expect' ;
ENDS : 'ends' ;
FAILS : 'fails' ;
IS : 'is' ;
COMPENSATED : 'compensated' ;
STATUS : 'status' ;
WAITS : 'waits' ;
PASSES : 'passes' ;
THROUGH : 'through' ;
NEVER : 'never' ;
REACHES : 'reaches' ;
CALLED : 'called' ;
UNDONE : 'undone' ;
OUTCOME : 'outcome' ;
TASK : 'task' ;
TITLE : 'title' ;
ESCALATES : 'escalates' ;
