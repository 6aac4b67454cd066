// Helpers of the mixin: numbers as PromQL writes them, a check of the parameters, and the YAML
// writer of the rules files. Jsonnet's own std.manifestYamlDoc prints 0.2 as 0.20000000000000001
// and (before 0.19) a multi-line expression as one quoted line; it is also slow in 0.18, whose
// std.findSubstr and std.escapeStringJson are written in Jsonnet: this writer avoids both.
local isDigit(c) = c >= '0' && c <= '9';
local units = ['ms', 's', 'm', 'h', 'd', 'w', 'y'];
// The parameters and their defaults: the names a _config may have.
local defaults = (import '../config.libsonnet')._config;

{
  // A number as PromQL and a reader write it (3, 0.2); a string is taken as written, so that the
  // Helm chart can render the rules with placeholders in place of the numbers.
  num(x):: if std.isString(x) then x else if x == std.floor(x) then '%d' % x else '%.15g' % x,

  // A Prometheus duration such as 15m or 1h30m.
  isDuration(s)::
    local go(chars, digits, seen) =
      if std.length(chars) == 0 then seen && digits == 0
      else if isDigit(chars[0]) then go(chars[1:], digits + 1, seen)
      else if digits == 0 then false
      else if std.length(chars) > 1 && chars[0] == 'm' && chars[1] == 's' then go(chars[2:], 0, true)
      else if std.member(units, chars[0]) then go(chars[1:], 0, true)
      else false;
    std.isString(s) && go(std.stringChars(s), 0, false),

  // true when every parameter of c is one of the mixin's; else stops the rendering, naming the others. A
  // misspelt name would otherwise leave its parameter at the default without a word.
  known(c)::
    local unknown = [k for k in std.objectFields(c) if !std.objectHas(defaults, k)];
    if unknown == [] then true
    else error 'wolkvox mixin _config: unknown parameter%s: %s (mixin/config.libsonnet lists them)' % [
      if std.length(unknown) > 1 then 's' else '',
      std.join(', ', unknown),
    ],

  // true for good parameters; a wrong one stops the rendering with a message that names it.
  checked(c)::
    local durations = [
      'pulseWindow',
      'pulseBaseline',
      'pulseFor',
      'outageWindow',
      'outageBaseline',
      'outageFor',
      'exporterDownFor',
      'exporterAbsentFor',
      'pollsFailingFor',
      'staleFor',
      'quotaWindow',
      'rejectedWindow',
      'budgetFor',
      'configReloadFailedFor',
      'menuBaseline',
    ];
    local numbers = [
      'pulseZ',
      'pulseRatio',
      'pulseMinShare',
      'pulseMinCalls',
      'pollIntervalSeconds',
      'pulsePolls',
      'pulseFactor',
      'pulseEvidence',
      'outageRatio',
      'outageMinCalls',
      'outageMidnightGraceSeconds',
      'staleAfterSeconds',
      'budgetRatio',
      'menuPolls',
      'menuSurgeFactor',
      'menuSilentEvidence',
      'menuSurgeEvidence',
    ];
    local bad =
      ['%s: not a duration: %s' % [k, std.toString(c[k])] for k in durations if !$.isDuration(c[k])] +
      ['%s: not a number: %s' % [k, std.toString(c[k])] for k in numbers if !std.isNumber(c[k]) || c[k] < 0] +
      [
        '%s: a share between 0 and 1: %s' % [k, std.toString(c[k])]
        for k in ['pulseMinShare', 'outageRatio', 'budgetRatio']
        if std.isNumber(c[k]) && c[k] > 1
      ] +
      [
        '%s: a whole number of at least 1: %s' % [k, std.toString(c[k])]
        for k in ['pollIntervalSeconds', 'pulsePolls', 'menuPolls']
        if std.isNumber(c[k]) && (c[k] < 1 || c[k] != std.floor(c[k]))
      ] +
      (if std.isNumber(c.pulseFactor) && c.pulseFactor <= 1 then ['pulseFactor: more than 1: %s' % c.pulseFactor] else []) +
      (if std.isNumber(c.menuSurgeFactor) && c.menuSurgeFactor <= 1 then ['menuSurgeFactor: more than 1: %s' % c.menuSurgeFactor] else []) +
      [
        '%s: one of critical, warning, info: %s' % [k, c[k]]
        for k in ['pulseSeverity', 'outageSeverity', 'menuSeverity']
        if !std.member(['critical', 'warning', 'info'], c[k])
      ] +
      (if std.length(std.findSubstr('%s', c.runbookURLPattern)) == 1 then []
       else ['runbookURLPattern: needs one %s, for the alert: ' + c.runbookURLPattern]);
    if bad == [] then true else error 'wolkvox mixin _config: ' + std.join('; ', bad),

  // YAML in block style, as a person writes a rules file: plain scalars where unambiguous, else
  // single-quoted; multi-line strings as literal blocks. Keys of a rule in the order Prometheus'
  // documentation writes them, other keys sorted.
  yaml(value)::
    local first = ['name', 'rules', 'record', 'alert', 'expr', 'for', 'labels', 'annotations', 'summary', 'description'];
    local fields(o) = [k for k in first if std.objectHas(o, k)] + [k for k in std.objectFields(o) if !std.member(first, k)];
    local plainChar(ch) = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || isDigit(ch) || std.member('_:.-', ch);
    local scalar(v) =
      if std.isNumber(v) then $.num(v)
      else if std.isBoolean(v) then std.toString(v)
      // Names and severities are short; a long string is quoted without looking.
      else if std.length(v) > 0 && std.length(v) <= 80 then
        local chars = std.stringChars(v);
        local letter = (chars[0] >= 'a' && chars[0] <= 'z') || (chars[0] >= 'A' && chars[0] <= 'Z');
        if letter && std.length(std.filter(plainChar, chars)) == std.length(chars) && !std.member(['true', 'false', 'null', 'yes', 'no'], v) then v
        else "'" + std.strReplace(v, "'", "''") + "'"
      else "'" + std.strReplace(v, "'", "''") + "'";
    local emit(node, indent) =
      local pad = std.repeat(' ', indent);
      if std.isObject(node) then std.flattenArrays([
        local v = node[k];
        local lines = if std.isString(v) then std.split(v, '\n') else [];
        if std.length(lines) > 1 then
          [pad + k + ': |-'] + [pad + '  ' + l for l in lines]
        else if std.isObject(v) || std.isArray(v) then [pad + k + ':'] + emit(v, indent + 2)
        else [pad + k + ': ' + scalar(v)]
        for k in fields(node)
      ])
      else std.flattenArrays([
        local lines = emit(item, indent + 2);
        // An item's lines start with its indent + 2 spaces; 0.18's std.lstripChars copies the
        // rest of the line for each space it strips, the slowest step of the writer.
        [pad + '- ' + std.substr(lines[0], indent + 2, std.length(lines[0]) - indent - 2)] + lines[1:]
        for item in node
      ]);
    std.join('\n', emit(value, 0)) + '\n',
}
