// The .flow language: retail processes written by business analysts.
//
// Layout is free: line breaks and indentation carry no meaning (fmt gives the canonical layout);
// every state starts with a keyword (step, decide, wait, approval, parallel, for each, set,
// finish, fail) and nested blocks close with `end`. `#` starts a comment. Strings may
// interpolate expressions as "{sale.total}"; the dsl/ layer parses those.
//
// Only dsl/ sees this grammar's parse tree; it is turned into dsl/ast.h right away.
grammar Flow;

flowFile : header declaration* stateDecl* EOF ;

header : WORKFLOW name=ident VERSION version=INT description=STRING? ;

declaration
  : USES ident (',' ident)*                                   # usesDecl
  | INPUT inputField (','? inputField)*                        # inputDecl
  | EVERY cron=STRING IN zone=STRING (WITH argList)?          # scheduleDecl
  ;

inputField : ident typeName OPTIONAL? ;

// text, number, money, bool, time, duration, list, record (checked by dsl/, which can suggest).
typeName : ident ;

// ---------------------------------------------------------------------------------------- states

stateDecl
  : stepState
  | decideState
  | waitState
  | approvalState
  | parallelState
  | forEachState
  | assignState
  | finishState
  | failState
  ;

stepState : STEP name=ident callClause stepClause* ;

callClause : CALL connector=ident '.' operation=ident (WITH argList)? ;

argList : arg (',' arg)* ;
arg : ident '=' expr ;

stepClause
  : SAVE RESULT AS ident                                      # saveClause
  | TIMEOUT duration                                          # timeoutClause
  | RETRY retrySpec                                           # retryClause
  | ON ERROR (errorKind (',' errorKind)*)? GO TO target        # onErrorClause
  | UNDO callClause                                           # undoClause
  | thenClause                                                # stepThenClause
  ;

retrySpec
  : UP TO attempts=INT TIMES
    (WAITING first=duration)?
    (DOUBLING | MULTIPLYING BY factor=number)?
    (UP TO cap=duration)?
    (WITH JITTER)?
    (ON errorKind (',' errorKind)*)?
  ;

errorKind : ident | TIMEOUT ;

thenClause : THEN GO TO target ;

// A transition's destination; `finish` and `fail` are the default names of those states.
target : ident | FINISH | FAIL ;

decideState : DECIDE name=ident whenClause* otherwiseClause? ;
whenClause : WHEN expr GO TO target ;
otherwiseClause : OTHERWISE GO TO target ;

waitState : WAIT name=ident waitSpec waitClause* ;

waitSpec
  : FOR duration                                                          # waitForDuration
  | UNTIL expr                                                            # waitUntilTime
  | FOR EVENT event=ident WHERE key=ident '==' expr (WITHIN duration)?    # waitForEvent
  ;

waitClause
  : SAVE EVENT AS ident                                       # saveEventClause
  | ON TIMEOUT GO TO target                                    # onTimeoutClause
  | thenClause                                                # waitThenClause
  ;

approvalState : APPROVAL name=ident approvalClause* ;

approvalClause
  : ASK role=ident title=STRING                               # askClause
  | DETAILS STRING                                            # detailsClause
  | IF NOBODY DECIDES WITHIN duration GO TO target             # deadlineClause
  | IF APPROVED GO TO target                                   # approvedClause
  | IF REJECTED GO TO target                                   # rejectedClause
  | SAVE DECISION AS ident                                    # saveDecisionClause
  ;

parallelState : PARALLEL name=ident thenClause? branch+ END ;
branch : BRANCH name=ident stateDecl+ ;

forEachState
  : FOR EACH item=ident IN expr AS name=ident concurrency? thenClause? stateDecl+ END ;
concurrency : AT MOST INT AT (ONCE | A TIME) ;

assignState : SET name=ident argList thenClause? ;

finishState : FINISH name=ident? message=STRING? ;
failState : FAIL name=ident? reason=STRING ;

// ----------------------------------------------------------------------------------- expressions

expr : orExpr ;

// Entry point for the expressions inside "{...}" of interpolated strings.
exprOnly : expr EOF ;
orExpr : andExpr (OR andExpr)* ;
andExpr : notExpr (AND notExpr)* ;
notExpr : NOT notExpr | comparison ;
comparison : additive (compareOp additive)? ;
compareOp : '==' | '!=' | '<' | '<=' | '>' | '>=' | IN ;
additive : multiplicative (addOp multiplicative)* ;
addOp : '+' | '-' ;
multiplicative : unary (mulOp unary)* ;
mulOp : '*' | '/' | '%' ;
unary : '-' unary | postfix ;
postfix : primary (member)* ;
member : '.' fieldName | '[' expr ']' ;

// After a dot any word names a field, keywords included (`last_error.step`, `instance.workflow`).
// Words that start a state or a clause on the next line (finish, fail, decide, ...) are left
// out, so that a dangling `input.` does not swallow the following line.
fieldName
  : ident | WORKFLOW | STEP | CALL | ERROR | TIMEOUT | IN | AS | ON | WITH | WHEN | IF | THEN
  | GO | USES | UNDO | UNTIL | WHERE | WITHIN | AND | OR | NOT | TRUE | FALSE | NULL_LITERAL
  ;

primary
  : duration                                                  # durationLiteral
  | number                                                    # numberLiteral
  | STRING                                                    # stringLiteral
  | TRUE                                                      # trueLiteral
  | FALSE                                                     # falseLiteral
  | NULL_LITERAL                                                  # nullLiteral
  | ident '(' (expr (',' expr)*)? ')'                         # callExpr
  | ident                                                     # nameExpr
  | '[' (expr (',' expr)*)? ']'                               # listLiteral
  | '{' (arg (',' arg)*)? '}'                                 # recordLiteral
  | '(' expr ')'                                              # parenExpr
  ;

duration : DURATION | INT unit=ident ;
number : INT | DECIMAL ;

// Words that are keywords somewhere but may still name a field, a role or a saved value.
ident
  : ID
  | RESULT | EVENT | DECISION | APPROVED | REJECTED | INPUT | AT | MOST | ONCE | A | TIME | BY
  | UP | TO | TIMES | WAITING | DOUBLING | MULTIPLYING | JITTER | OPTIONAL | NOBODY | DECIDES
  | DETAILS | VERSION
  ;

// ----------------------------------------------------------------------------------------- lexer

WORKFLOW : 'workflow' ;
VERSION : 'version' ;
USES : 'uses' ;
INPUT : 'input' ;
EVERY : 'every' ;
IN : 'in' ;
WITH : 'with' ;
OPTIONAL : 'optional' ;
STEP : 'step' ;
CALL : 'call' ;
SAVE : 'save' ;
RESULT : 'result' ;
AS : 'as' ;
TIMEOUT : 'timeout' ;
RETRY : 'retry' ;
UP : 'up' ;
TO : 'to' ;
TIMES : 'times' ;
WAITING : 'waiting' ;
DOUBLING : 'doubling' ;
MULTIPLYING : 'multiplying' ;
BY : 'by' ;
JITTER : 'jitter' ;
ON : 'on' ;
ERROR : 'error' ;
UNDO : 'undo' ;
THEN : 'then' ;
GO : 'go' ;
DECIDE : 'decide' ;
WHEN : 'when' ;
OTHERWISE : 'otherwise' ;
WAIT : 'wait' ;
FOR : 'for' ;
UNTIL : 'until' ;
EVENT : 'event' ;
WHERE : 'where' ;
WITHIN : 'within' ;
APPROVAL : 'approval' ;
ASK : 'ask' ;
DETAILS : 'details' ;
IF : 'if' ;
NOBODY : 'nobody' ;
DECIDES : 'decides' ;
APPROVED : 'approved' ;
REJECTED : 'rejected' ;
DECISION : 'decision' ;
PARALLEL : 'parallel' ;
BRANCH : 'branch' ;
END : 'end' ;
EACH : 'each' ;
AT : 'at' ;
MOST : 'most' ;
ONCE : 'once' ;
A : 'a' ;
TIME : 'time' ;
SET : 'set' ;
FINISH : 'finish' ;
FAIL : 'fail' ;
AND : 'and' ;
OR : 'or' ;
NOT : 'not' ;
TRUE : 'true' ;
FALSE : 'false' ;
NULL_LITERAL : 'null' ;

DURATION : DIGIT+ DUNIT (DIGIT+ DUNIT)* ;
fragment DUNIT : 'ms' | 's' | 'm' | 'h' | 'd' | 'w' ;
DECIMAL : DIGIT+ '.' DIGIT+ ;
INT : DIGIT+ ;
fragment DIGIT : [0-9] ;

ID : [a-zA-Z_] [a-zA-Z_0-9]* ;

STRING : '"' ( '\\' . | ~["\\\r\n] )* '"' ;

COMMENT : '#' ~[\r\n]* -> channel(HIDDEN) ;
WS : [ \t\r\n]+ -> skip ;

// Anything else is one bad character; the parser reports it in plain words.
BAD_CHAR : . ;
