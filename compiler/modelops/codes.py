"""Every diagnostic code modelops reports, defined once: `modelops rule CODE` explains one.

Plain data, imported by `modelops rule` and the README generator only (diagnostics carry the code
as a string literal, so the compile path never loads this module). Emitting sites write the code as
a literal too (`"MO224"`), so one grep finds its definition, emitters and tests.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    code: str
    family: str
    title: str
    explanation: str


RULES: tuple[Rule, ...] = (
    # --- source: reading YAML safely ------------------------------------------------------------
    Rule("MO001", "source", "invalid YAML, several documents, or a file that is not UTF-8 text",
         "The file must be one UTF-8 YAML document. The message quotes the parser's problem at the "
         "position it found it.\n\nBefore:\n  name: iris\n  team: [risk\nAfter:\n  name: iris\n"
         "  team: risk"),
    Rule("MO002", "source", "a custom or Python YAML tag",
         "Only plain YAML types (maps, lists, strings, numbers, booleans, null) are read: a tag such "
         "as !!python/object or !include could run code or hide content from review.\n\n"
         "Before:\n  replicas: !env REPLICAS\nAfter:\n  replicas: 2"),
    Rule("MO003", "source", "a merge key (<<)",
         "Merge keys are not part of YAML 1.2 and hide where a value comes from. Write the keys out, "
         "or put shared settings in the environment's defaults in modelops.yaml.\n\n"
         "Before:\n  production:\n    <<: *base\nAfter:\n  production:\n    replicas: 2"),
    Rule("MO004", "source", "a mapping key that is not a plain string",
         "Keys must be strings: `1:` or `true:` or a list used as a key are refused.\n\n"
         "Before:\n  env:\n    1: x\nAfter:\n  env:\n    \"1\": x"),
    Rule("MO005", "source", "a duplicate key",
         "YAML parsers silently keep the last of two equal keys; modelops refuses them so a review "
         "sees what is deployed.\n\nBefore:\n  replicas: 2\n  replicas: 3\nAfter:\n  replicas: 3"),
    Rule("MO006", "source", "a file over 1 MiB, or a document that expands beyond 100000 nodes or "
         "nests too deeply",
         "Source files are size-checked before they are read (1 MiB each), and aliases are expanded "
         "under a size budget so a 'billion laughs' file cannot exhaust memory. Split big files and "
         "write the values out instead of nesting aliases."),
    Rule("MO007", "source", "a model file that cannot be read safely: a symlink leaving the repository, "
         "a dangling symlink, a special file or a file name that is not UTF-8",
         "modelops reads models/ and modelops.yaml as plain files; a symlink is followed only to a "
         "regular file inside the repository, so a pull request cannot make a check read (and print) "
         "a file elsewhere on the CI machine, and a dangling symlink is reported instead of the model "
         "silently disappearing from generated/.\n\nBefore:\n  models/iris.yaml -> /etc/passwd\n"
         "After:\n  models/iris.yaml (a regular file)"),
    Rule("MO008", "source", "a symlink or special file in generated/",
         "generated/ holds only what `modelops compile` writes: plain files and folders. A symlink there "
         "(or generated/ being one) is never followed, by compile --check, sync or promote, and is an "
         "error until it is removed; `modelops compile` then writes the tree afresh."),
    Rule("MO009", "source", "a write would leave the repository: a symlink where a folder belongs",
         "Every write stays inside the repository: generated/, .github/, .modelops-cache/ (the render "
         "cache, the compile lock, the spare tree) and their folders are opened one by one without "
         "following a symlink, so a checkout cannot make `compile` (or the CI's `compile --check`) "
         "write elsewhere on the machine. Remove the symlink and run the command again.\n\n"
         "Before:\n  .github -> /home/ci/.ssh\nAfter:\n  .github/ (a folder)"),
    Rule("MO010", "source", "no modelops.yaml in the repository",
         "Every command looks for modelops.yaml in the current folder and its parents (or `--repo`). "
         "Create one that defines at least the environments.\n\nAfter:\n  environments:\n"
         "    staging: {namespace: models-staging}"),
    Rule("MO011", "source", "a duration modelops cannot read",
         "Durations (--watch, --poll, --timeout; rollout.bake in a model file) are plain seconds or "
         "amounts with units from the largest down, each at most once: 90, 0.5, 30s, 10m, 1h30m, "
         "500ms. Anything else is refused rather than read in part; --watch and --timeout must be "
         "more than zero.\n\nBefore:\n  modelops rollout --watch 5min\nAfter:\n"
         "  modelops rollout --watch 5m"),
    Rule("MO014", "source", "the file system refused a write: permission, read-only, full or over quota",
         "EACCES, EPERM (an immutable folder), EROFS (a read-only checkout), ENOSPC (a full disk) and "
         "EDQUOT (a quota) while writing are one line naming the path and the cause; generated/ keeps "
         "its previous tree (the new one is staged beside it and swapped in only when complete) and no "
         "temporary file is left. A run that changes nothing writes nothing, so it succeeds on a "
         "read-only checkout. Free space or fix the permissions and run the command again."),
    # --- git and GitHub ---------------------------------------------------------------------------
    Rule("MO020", "git", "a git command failed, or git is not installed",
         "Commands that read history or make branches (`diff`, `promote`, `rollback`) run git; the "
         "message is git's own last line, e.g. an unknown revision given as BASE to `modelops diff BASE` "
         "or to `modelops validate --base`."),
    Rule("MO030", "github", "no GitHub token to comment or open a pull request with",
         "`modelops diff --comment` needs GITHUB_TOKEN; `promote` and `rollback` read the variable "
         "named by github.token_env (default GITHUB_TOKEN). Set it, or use --no-push / drop "
         "--comment."),
    Rule("MO031", "github", "GitHub refused a call or stayed unreachable after retries",
         "5xx answers and rate limits are retried with backoff; after that, or on a refusal (401, "
         "403, 404), the message names the repository and GitHub's answer. Check the token's "
         "permissions (pull requests and contents: write) and github.api_url."),
    Rule("MO032", "github", "GitLab refused the merge-request note or stayed unreachable",
         "`modelops diff --gitlab-note` needs GITLAB_TOKEN (a project access token with the api "
         "scope; CI_JOB_TOKEN cannot write notes) and GitLab's CI_API_V4_URL, CI_PROJECT_ID and "
         "CI_MERGE_REQUEST_IID, which merge-request pipelines set. 429 and 5xx answers are retried; "
         "the message names GitLab's answer."),
    Rule("MO033", "github", "a group that must approve the pull request has not approved its head",
         "CODEOWNERS lets any one owner of a line approve; `modelops approvals --pr N` (a required "
         "status check) needs every group: the model's team for its files, and platform_team for "
         "protected environments' files and files outside models/ and generated/. Only a "
         "reviewer's latest approving review of the current head counts. Ask the named team."),
    # --- spec: the shape of model files and modelops.yaml ---------------------------------------
    # --- init: the starting point ----------------------------------------------------------------
    Rule("MO050", "init", "`modelops init` would overwrite a file",
         "init writes modelops.yaml, an example model, schemas/, a workflow and a "
         ".pre-commit-config.yaml, and overwrites none of them: every file that exists is listed and "
         "nothing is written. Move them away, or pass --force to replace them (.gitignore is only "
         "added to, never replaced)."),
    Rule("MO051", "init", "an environment name `modelops init` cannot use",
         "Environment names become folder names and Kubernetes namespaces: lower case letters, "
         "digits and '-', each given once.\n\nBefore:\n  modelops init --env Prod\nAfter:\n"
         "  modelops init --env prod"),
    Rule("MO100", "spec", "a value of the wrong type or form",
         "The message names the key and what it expects (a number, a quantity such as 512Mi, a "
         "lowercase name...). The editor schema in schemas/ shows the same rules while typing.\n\n"
         "Before:\n  replicas: two\nAfter:\n  replicas: 2"),
    Rule("MO101", "spec", "an unknown key",
         "Unknown keys are errors, not ignored, so a typo never silently drops a setting; the "
         "message suggests the closest known key.\n\nBefore:\n  replica: 2\nAfter:\n  replicas: 2"),
    Rule("MO102", "spec", "a required key is missing",
         "Every model needs name, team and framework; the message names the key and where.\n\n"
         "Before:\n  name: iris\nAfter:\n  name: iris\n  team: risk\n  framework: sklearn"),
    Rule("MO103", "spec", "an invalid name used as a key",
         "Environment, variant and team names become parts of Kubernetes names: lowercase letters, "
         "digits and '-', starting and ending with a letter or digit.\n\n"
         "Before:\n  traffic:\n    Canary_1: {weight: 10}\nAfter:\n  traffic:\n"
         "    canary-1: {weight: 10}"),
    # --- model: rules on the model file itself --------------------------------------------------
    Rule("MO201", "model", "the model's name differs from its file name",
         "models/NAME.yaml must say `name: NAME`, so a file name finds the model and its generated "
         "objects.\n\nBefore (models/iris.yaml):\n  name: iris-classifier\nAfter:\n  name: iris"),
    Rule("MO202", "model", "a team not listed in modelops.yaml",
         "When modelops.yaml lists teams, every model's team must be one of them (it decides "
         "CODEOWNERS and the team's replica cap).\n\nBefore:\n  team: riskk\nAfter:\n  team: risk"),
    Rule("MO203", "model", "an environment not defined in modelops.yaml",
         "A model's `environments` keys (and `--env` of promote and rollback) must be environments "
         "of modelops.yaml.\n\nBefore:\n  environments:\n    prod: {}\nAfter:\n  environments:\n"
         "    production: {}"),
    Rule("MO204", "model", "`image` without framework custom, or custom without `image`",
         "Prepackaged servers (sklearn, xgboost, ...) bring their own image; only framework custom "
         "runs yours.\n\nBefore:\n  framework: sklearn\n  image: acme/iris:1\nAfter:\n"
         "  framework: custom\n  image: acme/iris:1"),
    Rule("MO205", "model", "a protocol the model server does not speak",
         "The sklearn, xgboost, mlflow and huggingface servers do not speak the tensorflow protocol; "
         "Triton speaks only v2.\n\nBefore:\n  framework: sklearn\n  protocol: tensorflow\nAfter:\n"
         "  framework: sklearn\n  protocol: v2"),
    Rule("MO206", "model", "two files define the same model name",
         "One file per model: a model's name decides its generated objects, so two files of one "
         "name would overwrite each other. Rename or merge one of them."),
    Rule("MO207", "model", "`autoupdate.env` is not an environment the model runs in",
         "Automatic updates open promotions for one environment of the model.\n\nBefore:\n"
         "  environments: {staging: {}}\n  autoupdate: {env: production}\nAfter:\n"
         "  autoupdate: {env: staging}"),
    # --- target: names the platform takes --------------------------------------------------------
    Rule("MO210", "target",
         "a name the target derives is over 63 characters (Seldon v1 `<model>-<variant>-0-<model>` "
         "Deployments, `<model>-<variant>` Services, `<model>-metrics`; Core 2 Models and the "
         "Experiment; KServe `<model>-predictor` and the host label `<model>-predictor-<namespace>`)",
         "Kubernetes names are at most 63 characters. The target derives names from the model and "
         "variant names: Seldon v1 `<model>-<variant>-0-<model>` Deployments, `<model>-<variant>` "
         "Services, `<model>-metrics`; Core 2 Models and the Experiment; KServe `<model>-predictor` "
         "and the host label `<model>-predictor-<namespace>`. The message says by how much it is "
         "over: shorten the model or variant name."),
    Rule("MO211", "target", "two objects derive the same name in one namespace",
         "Within one model or across models, no two objects of an environment's namespace may share a "
         "derived name (e.g. model `a-b` variant `c` and model `a` variant `b-c`). Rename the model or "
         "the variant."),
    Rule("MO212", "target", "two environments generate the same object (a shared namespace)",
         "(kind, namespace, name) is unique across all environments: an environment whose namespace "
         "(in modelops.yaml, or a model's environments.<env>.namespace) is another environment's "
         "would overwrite that environment's objects on every sync, and `sync --prune` of one would "
         "delete what the other still runs. The error points at the namespace that causes the clash."
         "\n\nBefore:\n  environments:\n    production: {namespace: models-staging}\nAfter:\n"
         "  environments:\n    production: {}"),
    # --- traffic: the rules Seldon's admission webhook enforces ---------------------------------
    Rule("MO220", "traffic", "a shadow variant with a weight",
         "A shadow gets a copy of all traffic, so it takes no weight.\n\nBefore:\n"
         "  traffic:\n    next: {shadow: true, weight: 10}\nAfter:\n  traffic:\n"
         "    next: {shadow: true}"),
    Rule("MO221", "traffic", "more than one shadow variant",
         "Seldon allows at most one shadow per deployment: remove or merge the others."),
    Rule("MO222", "traffic", "a shadow is the only variant",
         "A shadow mirrors traffic served by another variant: add a main variant.\n\nBefore:\n"
         "  traffic:\n    next: {shadow: true}\nAfter:\n  traffic:\n    main: {}\n"
         "    next: {shadow: true}"),
    Rule("MO223", "traffic", "a variant without a weight while several share traffic",
         "With two or more serving variants each needs a weight, and they sum to 100.\n\nBefore:\n"
         "  traffic:\n    main: {}\n    canary: {weight: 10}\nAfter:\n  traffic:\n"
         "    main: {weight: 90}\n    canary: {weight: 10}"),
    Rule("MO224", "traffic", "serving weights that do not sum to 100",
         "Seldon rejects traffic that does not add up to 100; a single serving variant takes all of "
         "it (weight unset or 100).\n\nBefore:\n  traffic:\n    main: {weight: 85}\n"
         "    canary: {weight: 10}\nAfter:\n  traffic:\n    main: {weight: 90}\n"
         "    canary: {weight: 10}"),
    # --- artifact ---------------------------------------------------------------------------------
    Rule("MO230", "artifact", "a prepackaged server without `artifact.uri`",
         "Every server but custom and huggingface loads the model from its storage URI.\n\n"
         "Before:\n  framework: sklearn\nAfter:\n  framework: sklearn\n  artifact:\n"
         "    uri: s3://acme-models/iris/3"),
    Rule("MO231", "artifact", "an artifact URI Seldon cannot read or policy refuses: `models:/`, "
         "`mlflow-artifacts:/`, local paths, credentials in URIs, schemes and buckets outside `policy`",
         "Refused: `models:/` and `mlflow-artifacts:/` (pin the storage URI: `modelops promote` does "
         "this), local paths, credentials in URIs (name a Secret in artifact.secret), and schemes or "
         "buckets outside policy.allowed_schemes / allowed_buckets.\n\nBefore:\n"
         "  artifact: {uri: models:/iris/3}\nAfter:\n  artifact: {uri: s3://acme-models/iris/3}"),
    Rule("MO232", "artifact", "an artifact, graph node or store URI with whitespace or a control "
         "character",
         "A space, tab, newline or other control character (\\x00-\\x1f, \\x7f, and Unicode's "
         "invisible ones) has no place in a URI: it would end the URI early in the model server's "
         "arguments, split a log line, or write lines of its own into a pull request's table. Refused "
         "wherever the URI is written (artifact.uri at any layer, graph.nodes.<node>.uri, "
         "stores.<store>.uri); the message names the character and its position. Percent-encode "
         "it.\n\nBefore:\n  artifact: {uri: \"s3://acme-models/iris/3\\n# Approved\"}\nAfter:\n"
         "  artifact: {uri: s3://acme-models/iris/3}"),
    # --- scaling ------------------------------------------------------------------------------------
    Rule("MO240", "scaling", "replicas or autoscaling.max above policy.max_replicas",
         "modelops.yaml's policy.max_replicas caps every variant.\n\nBefore:\n  replicas: 50\n"
         "After:\n  replicas: 10"),
    Rule("MO241", "scaling", "both `replicas` and `autoscaling`",
         "With autoscaling, min and max decide the replicas.\n\nBefore:\n  replicas: 2\n"
         "  autoscaling: {min: 2, max: 6, cpu: 70}\nAfter:\n  autoscaling: {min: 2, max: 6, cpu: 70}"),
    Rule("MO242", "scaling", "autoscaling without `max`",
         "An HPA needs an upper bound; only Knative (kserve Serverless) and Seldon Core 2's own scaler "
         "(`native: true`) scale without one, and then policy.max_replicas must be null.\n\n"
         "Before:\n  autoscaling: {min: 2, cpu: 70}\n"
         "After:\n  autoscaling: {min: 2, max: 6, cpu: 70}"),
    Rule("MO243", "scaling", "autoscaling.min above autoscaling.max",
         "Before:\n  autoscaling: {min: 8, max: 6, cpu: 70}\nAfter:\n"
         "  autoscaling: {min: 2, max: 6, cpu: 70}"),
    Rule("MO244", "scaling", "autoscaling without a target",
         "Name what to scale on: cpu or memory (percent of the request) or rps.\n\nBefore:\n"
         "  autoscaling: {min: 2, max: 6}\nAfter:\n  autoscaling: {min: 2, max: 6, cpu: 70}"),
    Rule("MO245", "scaling", "autoscaling on cpu or memory utilisation without a request for it",
         "Utilisation is a percent of the container's request: without one the HPA cannot compute "
         "it and never scales. A limit alone counts (Kubernetes then sets the request to it).\n\n"
         "Before:\n  autoscaling: {max: 6, cpu: 70}\nAfter:\n  resources:\n    requests: {cpu: 500m}\n"
         "  autoscaling: {max: 6, cpu: 70}"),
    Rule("MO246", "scaling", "autoscaling.native together with cpu, memory or rps",
         "`native: true` switches on Seldon Core 2's own scaler (Model minReplicas/maxReplicas, on "
         "inference lag) instead of an HPA: it takes min and max only.\n\nBefore:\n"
         "  autoscaling: {native: true, max: 4, rps: 20}\nAfter:\n  autoscaling: {native: true, max: 4}"),
    Rule("MO247", "scaling", "an autoscaling target the target platform would round to nothing",
         "Seldon Core 2's HPA target is a quantity in milli-units: an rps below 0.001 would render as "
         "averageValue 0m.\n\nBefore:\n  autoscaling: {max: 4, rps: 0.0005}\nAfter:\n"
         "  autoscaling: {max: 4, rps: 0.5}"),
    Rule("MO248", "scaling", "autoscaling.min 0 (scale to zero) on a platform that cannot",
         "Only Knative scales a predictor to zero: target kserve with kserve_mode: Serverless. An HPA "
         "(Seldon Core v1, Seldon Core 2, KServe Standard) keeps at least one replica.\n\nBefore:\n"
         "  autoscaling: {min: 0, max: 4, cpu: 70}\nAfter:\n  autoscaling: {min: 1, max: 4, cpu: 70}"),
    # --- resources and secrets --------------------------------------------------------------------
    Rule("MO250", "resources", "a resource request above its limit",
         "Kubernetes rejects a pod whose request exceeds its limit.\n\nBefore:\n  resources:\n"
         "    requests: {memory: 2Gi}\n    limits: {memory: 1Gi}\nAfter:\n  resources:\n"
         "    requests: {memory: 1Gi}\n    limits: {memory: 1Gi}"),
    Rule("MO251", "resources", "a zero resource quantity, or one too large for Kubernetes",
         "A zero cpu or memory request or limit schedules nothing useful, and a quantity beyond "
         "int64 milli-units cannot be stored by the API server.\n\nBefore:\n  resources:\n"
         "    limits: {memory: 0}\nAfter:\n  resources:\n    limits: {memory: 1Gi}"),
    Rule("MO260", "secrets", "a credential in any string that would reach generated/ (use a Secret)",
         "Every string of every rendered object (labels, annotations, env values, URLs such as "
         "logging.url and gitops.repo_url, artifact URIs) is scanned for GitHub, GitLab, AWS, Google, "
         "Azure, Slack and OpenAI credentials, JWTs, private keys, user:password@ or tokens in URLs and "
         "pre-signed URLs (patterns from gitleaks and detect-secrets, listed in "
         "compile/rules/secrets.py), and env names such as *_TOKEN or *PASSWORD. The message shows at "
         "most the first 4 characters. They must not be in git: store them in a Kubernetes Secret and "
         "name it in artifact.secret.\n\nBefore:\n"
         "  env: {AWS_SECRET_ACCESS_KEY: abc}\nAfter:\n  artifact: {uri: s3://acme-models/iris/3, "
         "secret: iris-s3}"),
    Rule("MO261", "secrets", "an env value that looks generated: a long random-looking run of "
         "characters under a name that says nothing",
         "MO260 knows credentials by their shape or their name; a generated password under a neutral "
         "name (`env: {CONFIG: ...}`) has neither. A run of at least 32 letters, digits and + / = _ - "
         "with lower case, upper case and digits, at least 4.0 bits of Shannon entropy per character "
         "and few separators (paths and names have many) is refused like a credential. The message "
         "gives its length and entropy, never the value. Diagnostics have no warning level, so this "
         "is an error: a value that is no credential (a checksum, a build id) is let through by "
         "naming its variable in policy.allow_high_entropy. Hex digests and UUIDs are never "
         "refused.\n\nBefore:\n  env: {CONFIG: Zx8Qm2Lp9Vt4Rk7Wn3Hs6Jd1Fy5Gb0Ca}\nAfter:\n"
         "  artifact: {uri: s3://acme-models/iris/3, secret: iris-config}"),
    # --- logging ------------------------------------------------------------------------------------
    Rule("MO270", "logging", "logging to Kafka without a broker",
         "Set logging.kafka.broker (host:port) in the model or in the environment's defaults.\n\n"
         "Before:\n  logging: {mode: all, kafka: {topic: payloads}}\nAfter:\n"
         "  logging: {mode: all, kafka: {broker: kafka:9092, topic: payloads}}"),
    Rule("MO271", "logging", "logging sets both `url` and `kafka`",
         "Choose one sink: `url: null` drops an inherited HTTP sink, `kafka: null` an inherited Kafka "
         "sink.\n\nBefore:\n  logging: {mode: all, url: http://sink, kafka: {broker: kafka:9092}}\n"
         "After:\n  logging: {mode: all, url: http://sink}"),
    Rule("MO272", "logging", "a sink or `sample` in a model file while logging.mode is none",
         "They would have no effect: set mode to request, response or all, or remove them.\n\n"
         "Before:\n  logging: {url: http://sink}\nAfter:\n  logging: {mode: all, url: http://sink}"),
    Rule("MO273", "logging", "a logging.url that is not http(s)",
         "Before:\n  logging: {mode: all, url: sink:8080}\nAfter:\n"
         "  logging: {mode: all, url: http://sink:8080}"),
    # --- pipelines ------------------------------------------------------------------------------
    Rule("MO280", "pipeline", "a pipeline step, input, output or experiment candidate naming "
         "nothing that exists",
         "A step names a Core 2 Model deployed in the same environment and namespace; inputs name "
         "a step (`<step>`, `<step>.outputs...`) or the pipeline (`<pipeline>.inputs...`); outputs "
         "name steps; an experiment's candidates and default name pipelines of the same file.\n\n"
         "Before:\n  pipelines:\n    chain:\n      steps: [{model: irsi}]\nAfter:\n  pipelines:\n"
         "    chain:\n      steps: [{model: iris}]"),
    Rule("MO281", "graph", "a Seldon Core v1 graph that is no tree around the model: a child or "
         "root naming no node, a node called twice, a node the root cannot reach",
         "`graph.nodes` are the nodes beside the model's own, which is named like the model (or "
         "names.graph); every node but the root is the child of exactly one node.\n\nBefore:\n"
         "  graph:\n    nodes:\n      translator: {type: TRANSFORMER, image: t:1, children: [spam]}\n"
         "After:\n  graph:\n    nodes:\n      translator: {type: TRANSFORMER, image: t:1, "
         "children: [spam-classifier]}"),
    Rule("MO282", "graph", "a Seldon Core v1 graph node that runs nothing, or lacks what its type "
         "needs (children, a framework's uri)",
         "A node runs an `image`, or (type MODEL) a prepackaged `framework` loading `uri`; "
         "TRANSFORMER, OUTPUT_TRANSFORMER, COMBINER and ROUTER call children.\n\nBefore:\n"
         "  graph:\n    nodes:\n      ensemble: {type: COMBINER, image: c:1}\nAfter:\n  graph:\n"
         "    nodes:\n      ensemble: {type: COMBINER, image: c:1, children: [churn, churn-xgb]}\n"
         "      churn-xgb: {type: MODEL, framework: xgboost, uri: s3://models/churn-xgb/2}"),
    # --- target: features ---------------------------------------------------------------------
    Rule("MO301", "target", "a feature the model's target cannot express (e.g. `lightgbm` on Seldon "
         "Core v1, a shadow on KServe, `resources.requests.cpu` on Seldon Core 2): never dropped "
         "silently, see Targets",
         "Never dropped silently: e.g. `lightgbm` on Seldon Core v1, a shadow on KServe, "
         "`resources.requests.cpu` on Seldon Core 2, `logging.sample` where the logger records every "
         "request. See the README's Targets section; move the model to a target that has it, or "
         "remove the setting.\n\nBefore:\n  target: kserve\n  traffic:\n    main: {}\n"
         "    next: {shadow: true}\nAfter:\n  target: seldon-v1\n  traffic:\n    main: {}\n"
         "    next: {shadow: true}"),
    # --- policy: environments' rules and teams' caps in modelops.yaml -------------------------------
    Rule("MO401", "policy", "monitoring switched off where rules.require_monitoring is set",
         "Before:\n  monitoring: {enabled: false}\nAfter: remove the key (monitoring is on by "
         "default), or run the model only in environments without the rule."),
    Rule("MO402", "policy", "a serving variant may run fewer than rules.min_replicas",
         "replicas, or autoscaling.min when it autoscales, must reach the environment's minimum.\n\n"
         "Before:\n  replicas: 1\nAfter:\n  replicas: 2"),
    Rule("MO403", "policy", "a variant without resources.limits.memory where rules.require_memory_limit "
         "is set",
         "Before:\n  resources: {requests: {memory: 1Gi}}\nAfter:\n"
         "  resources: {requests: {memory: 1Gi}, limits: {memory: 1Gi}}"),
    Rule("MO404", "policy", "a team's models together exceed teams.<team>.max_replicas",
         "Each team's models may run at most its cap of replicas per environment (autoscaling counts "
         "its max); the message lists each model's share. Lower replicas, or raise the cap."),
    Rule("MO405", "policy", "a new artifact reaches main without a canary or shadow first",
         "With rules.require_rollout, the main variant's artifact.uri in that environment must be one "
         "the environment ran before, as main or as a canary or shadow variant. It is judged from the "
         "git history of the model file on the base branch (validate --base, $BASE_REF, "
         "$GITHUB_BASE_REF, else <git.remote>/<git.base>) up to the merge base, so the commits under "
         "review do not count (`modelops validate` only, so CI needs the full history: "
         "fetch-depth: 0); a file without history is not judged.\n\nBefore (main jumps to 13):\n"
         "  traffic:\n    main: {artifact: {uri: s3://acme-models/eta/13}}\nAfter (13 runs as a "
         "canary first, and becomes main in a later change):\n  traffic:\n    main: {weight: 90}\n"
         "    canary: {weight: 10, artifact: {uri: s3://acme-models/eta/13}}"),
    Rule("MO406", "policy", "a namespace of Kubernetes' own: kube-system, kube-public, kube-node-lease "
         "or default",
         "An environment's namespace, a model's environments.<env>.namespace and collector.namespace "
         "may not be kube-system (the control plane's add-ons), kube-public (readable by everyone), "
         "kube-node-lease (node heartbeats) or default (where every unqualified kubectl command acts): "
         "a model there runs beside what the cluster itself depends on, and `sync --prune` would act "
         "in it. List a namespace in policy.allowed_system_namespaces to allow it anyway.\n\n"
         "Before:\n  environments:\n    staging: {namespace: default}\nAfter:\n  environments:\n"
         "    staging: {namespace: models-staging}"),
    Rule("MO407", "policy", "an environment variable that changes which code the model server loads: "
         "LD_*, PATH, PYTHONPATH or PYTHONHOME",
         "`env` (of a model, an environment's defaults, a graph node) may not set the dynamic "
         "loader's variables (LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT: any name starting LD_), PATH, "
         "PYTHONPATH or PYTHONHOME: each makes the server run code other than its image's, a change a "
         "review of one line of YAML would not see. Names are matched as written (Linux's are "
         "case-sensitive). List a name in policy.allowed_env to allow it anyway (e.g. "
         "LD_LIBRARY_PATH for a GPU image).\n\nBefore:\n  env: {LD_PRELOAD: /tmp/hook.so}\n"
         "After:\n  env: {}"),
    # --- promotion: MLflow, pull requests, rollback -----------------------------------------------
    Rule("MO501", "promotion", "MLflow unreachable, or no registry configured",
         "Set MLFLOW_TRACKING_URI or mlflow.tracking_uri in modelops.yaml (or register models in the "
         "embedded store); calls are retried mlflow.retries times with mlflow.timeout."),
    Rule("MO502", "promotion", "the model version or alias is not in MLflow",
         "Check the registered model's name (autoupdate.registered_model, else the pinned "
         "artifact.mlflow.model, else the model's name) and the version or alias asked for."),
    Rule("MO503", "promotion", "a scikit-learn model saved as skops",
         "Seldon's sklearn server loads pickle/joblib models only (read from the version's MLmodel): "
         "log the model with serialization_format='cloudpickle' or 'pickle'."),
    Rule("MO504", "promotion", "MLflow resolved the model to a registry URI",
         "Seldon cannot read models:/ or runs:/ URIs and modelops never pins them: log the model "
         "to an artifact store the cluster reaches."),
    Rule("MO505", "promotion", "an mlflow-artifacts:/ URI without mlflow.artifacts_destination",
         "The MLflow server proxies these; Seldon cannot read them. Set mlflow.artifacts_destination "
         "to the server's --artifacts-destination bucket.\n\nAfter (modelops.yaml):\n  mlflow:\n"
         "    artifacts_destination: s3://acme-mlflow"),
    Rule("MO506", "promotion", "the model version's artifact is a local path",
         "Log the model to an artifact store the cluster reaches (s3://, gs://, az://)."),
    Rule("MO507", "promotion", "mlflow cannot be imported, or is too small for the embedded store",
         "Install the promote extra (`pip install 'modelops-gitops[promote]'`); the embedded sqlite "
         "store needs the full mlflow package, a server only mlflow-skinny."),
    Rule("MO508", "promotion", "MLflow refused the request",
         "An answer other than not-found or unavailable (e.g. permission denied); the message quotes "
         "MLflow's first line."),
    Rule("MO509", "promotion", "the MLflow model's flavour does not fit the model file's framework",
         "Read from the version's MLmodel `flavors`: framework sklearn needs the sklearn flavour, "
         "xgboost xgboost, lightgbm lightgbm, tensorflow tensorflow or keras, huggingface "
         "transformers, triton onnx, tensorflow, keras or pytorch; a python_function-only model fits "
         "framework mlflow or custom only.\n\nBefore (an sklearn model pinned):\n  framework: xgboost\n"
         "After:\n  framework: sklearn"),
    Rule("MO510", "promotion", "the model is not on the base branch",
         "Promotions start from `<remote>/<base>` (git.remote, git.base): merge the model file first, "
         "or check the model's name."),
    Rule("MO511", "promotion", "the model file cannot be edited that way",
         "E.g. --from-canary without a canary that pins an MLflow version, a candidate that already "
         "runs as main, or an environment written in a form the editor cannot change safely."),
    Rule("MO512", "promotion", "no git remote to push the promotion to",
         "Add the remote, set git.remote in modelops.yaml, or use --no-push for a local branch."),
    Rule("MO513", "promotion", "the GitHub repository cannot be told from the remote URL",
         "Set github.repository (owner/name) in modelops.yaml.\n\nAfter:\n  github:\n"
         "    repository: acme/models"),
    Rule("MO514", "promotion", "nothing to roll back to",
         "The model does not run in that environment, or the git history of its file on the base "
         "branch shows no earlier main artifact there."),
    Rule("MO520", "promotion", "the webhook secret is unset",
         "`modelops autoupdate serve` accepts only signed MLflow webhooks: export the variable named "
         "by mlflow.webhook_secret_env (the secret given to MLflow's create_webhook)."),
    # --- rollout: `modelops rollout` ------------------------------------------------------------
    Rule("MO601", "rollout", "Prometheus unreachable, or its answer unreadable",
         "`modelops rollout` reads the recorded series modelops generates from Prometheus' HTTP API "
         "(timeouts, retries). When it cannot, no decision is taken and no pull request opened: check "
         "the URL (--prometheus, $PROMETHEUS_URL, environments.ENV.prometheus) and that it answers "
         "/api/v1/query."),
    Rule("MO602", "rollout", "no Prometheus URL for an environment with a rollout policy",
         "Give --prometheus URL, set $PROMETHEUS_URL, or set it per environment.\n\nAfter:\n"
         "  environments:\n    production:\n      prometheus: http://prometheus.monitoring:9090"),
    # --- cluster: `modelops sync` and `schemas pull` ----------------------------------------------
    Rule("MO701", "cluster", "server-side apply conflict",
         "Another field manager (e.g. a `kubectl edit`) owns fields modelops sets: fix the live object, "
         "or take them back with --force-conflicts."),
    Rule("MO702", "cluster", "the API server rejected an object as invalid",
         "A 422 answer; the message quotes the server's reason. The cluster may run an older CRD "
         "than the output was validated against: `modelops schemas pull` reads the cluster's."),
    Rule("MO703", "cluster", "forbidden",
         "A 401 or 403 answer: the credentials may not do this in that namespace (RBAC)."),
    Rule("MO704", "cluster", "still failing after retries",
         "429 and 5xx answers and lost connections are retried (--max-retries, exponential backoff, "
         "Retry-After honoured); this one kept failing."),
    Rule("MO705", "cluster", "another API error",
         "An answer that is not a conflict, invalid, forbidden or retryable, e.g. 404 for a kind "
         "whose CRD is not installed: the message quotes the server."),
    Rule("MO706", "cluster", "prune refused: it would delete too much",
         "Nothing changed. More than --prune-max-share (default 0.5) of the environment's owned "
         "objects would go: check generated/ENV, or pass --prune-allow-all."),
    Rule("MO707", "cluster", "the cluster cannot be reached or configured",
         "From --kubeconfig / $KUBECONFIG / ~/.kube/config and --context, else the in-cluster service "
         "account, like kubectl; also a CRD that `schemas pull` cannot read."),
    Rule("MO708", "cluster", "the environment is synced by Argo CD or Flux",
         "`sync: argocd|flux` environments are applied by their controller; --dry-run=server and "
         "--plan-only still work."),
    Rule("MO709", "cluster", "generated/ENV cannot be synced as it is",
         "Nothing generated for the environment, an unknown environment, or a file that is not YAML "
         "Kubernetes objects: run `modelops compile`."),
    Rule("MO710", "cluster", "an object failed to become ready (sync --wait)",
         "The object's own status says it failed (a SeldonDeployment in state Failed, an "
         "InferenceService blocked by a failed load): the message quotes its status description."),
    Rule("MO711", "cluster", "an object was not ready in time (sync --wait --timeout)",
         "Still not ready when --timeout ran out (default 10m); the message quotes its last status or "
         "Ready condition, or says the controller has not observed the new generation yet."),
    Rule("MO712", "cluster", "the word back after sync --wait could not be sent",
         "The notification webhook (notify.webhook_url_env) refused or could not be reached. What was "
         "applied stays applied; the URL itself is never printed."),
    # --- collector: `modelops collect` ------------------------------------------------------------
    Rule("MO800", "predictions", "logging.store naming no store of modelops.yaml, or no collector",
         "A store is declared once in modelops.yaml (`stores:`), with the collector that writes to it "
         "(`collector.image`).\n\nBefore:\n  logging: {mode: all, store: defualt}\nAfter:\n"
         "  logging: {mode: all, store: default}"),
    Rule("MO801", "predictions", "logging.store together with url or kafka, or with mode request",
         "The environment's collector is the sink of a store, and it needs the responses (kafka "
         "together with a store is for seldon-v1's Kafka logger only: the collector consumes its topic).\n\n"
         "Before:\n  logging: {mode: request, store: default, url: http://sink}\nAfter:\n"
         "  logging: {mode: all, store: default}"),
    Rule("MO802", "predictions", "compare without stored predictions",
         "compare reads the predictions the collector saved: set logging.store and a mode that logs "
         "responses.\n\nBefore:\n  compare: {task: classification}\nAfter:\n"
         "  logging: {mode: all, store: default}\n  compare: {task: classification}"),
    Rule("MO803", "predictions", "a comparison that cannot be made: no store, no trial variant, or too "
         "few pairs to judge",
         "`modelops compare` needs the model's store (modelops.yaml), a shadow or canary beside main, and "
         "paired predictions in the window (`--since`).\n\nBefore:\n  modelops compare iris --env "
         "prod --since 1m\nAfter:\n  modelops compare iris --env prod --since 24h"),
    Rule("MO804", "predictions", "predictions stored through Kafka without the collector's broker",
         "A seldon-v2 model's predictions reach the store through Core 2's Kafka topics, and a seldon-v1 "
         "model with logging.kafka and a store logs to a topic the collector consumes: modelops.yaml "
         "names that Kafka once, `collector.kafka.broker` (or `environments.<env>.kafka.broker` where an "
         "environment's cluster has its own), and a model's own logging.kafka.broker must not name "
         "another.\n\nBefore:\n  collector: {image: registry.example/modelops:0.4.0}\nAfter:\n"
         "  collector:\n    image: registry.example/modelops:0.4.0\n"
         "    kafka: {broker: seldon-kafka-bootstrap.seldon-mesh:9092}"),
    Rule("MO820", "collector", "the store URI cannot be opened",
         "`--store` takes s3://bucket/prefix (endpoint from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL), "
         "gs://, abfs://, file:///path or a local folder; the message quotes pyarrow's reason. A store "
         "that is only unreachable is not this error: the collector spools and retries."),
    Rule("MO821", "collector", "the spool folder cannot be created or written",
         "Every event is acknowledged only once it is on disk in `--spool` (default ./.modelops-spool): "
         "give a writable folder, in a pod a volume that outlives the container."),
    Rule("MO822", "collector", "the collector cannot listen on its host and port",
         "Another process holds `--port` (default 8080), or `--host` is no address of this machine."),
    Rule("MO823", "collector", "the Kafka options cannot be used",
         "`--kafka-broker HOST:PORT` needs topics (`--kafka-topic`, repeatable, or `--kafka-models FILE`, "
         "the JSON compile generates: `{\"topics\": {topic: {\"model\", \"variant\", \"versions\"}}}`), "
         "and the topics need a broker; the message quotes what could not be read. An unreachable broker "
         "is not this error: the consumer retries and logs it."),
    # --- output -------------------------------------------------------------------------------------
    # --- predictions: the store and comparisons -------------------------------------------------
    Rule("MO900", "output", "a generated object failed schema validation: a modelops bug, please "
         "report it",
         "Every object is validated before writing (custom resources against the CRD schemas, core "
         "objects against Kubernetes' strict schemas). A model that passes every check should never "
         "produce one: it is a modelops bug, please report it with the model file."),
    Rule("MO901", "output", "a generated kind has no schema to validate it against",
         "Output is never written unvalidated. Each kind's schema is looked up in --crd-dir, "
         "$MODELOPS_CRD_DIR, the repo's schemas/crds/ and the schemas bundled with modelops; "
         "`modelops schemas list` shows where each comes from. Pull the CRDs your cluster runs with "
         "`modelops schemas pull`, or pass `--crd-dir DIR` holding the kind's openAPIV3Schema."),
)

BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}

README_BEGIN = "<!-- rules:begin -->"
README_END = "<!-- rules:end -->"


def markdown_table() -> str:
    """The table of checks in docs/rules.md: one row per code, linking the code's own page."""
    rows = ["| code | family | rule |", "|---|---|---|"]
    rows += [f"| [{rule.code}](rules/{rule.code}.md) | {rule.family} | {rule.title} |" for rule in RULES]
    return "\n".join(rows) + "\n"


def with_table(readme: str) -> str:
    """`readme` (docs/rules.md) with the table between its rules markers regenerated (`make docs-pages`)."""
    head, begin, rest = readme.partition(README_BEGIN + "\n")
    _, end, tail = rest.partition(README_END)
    if not begin or not end:
        raise ValueError(f"the README has no {README_BEGIN} ... {README_END} markers")
    return head + begin + markdown_table() + end + tail
