"""Child processes and their status readings."""

import os
import subprocess
import sys

from keras_bert_lab.benchmarks import processes


def test_read_status_of_this_process_and_of_a_finished_one():
    status = processes.read_status(os.getpid())
    assert status["threads"] == len(os.listdir(f"/proc/{os.getpid()}/task"))
    assert 0 < status["rss_bytes"] <= status["peak_rss_bytes"]
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    assert processes.read_status(finished.pid) is None


def test_the_sampler_sees_a_child_start_threads():
    script = "import threading, time\n" + (
        "[threading.Thread(target=time.sleep, args=(3,)).start() for _ in range(20)]\ntime.sleep(3)"
    )
    child = subprocess.Popen([sys.executable, "-c", script])
    sampler = processes.Sampler([child], interval=0.1).start()
    child.wait()
    sampler.stop()
    assert sampler.peaks[0]["threads"] >= 21
    assert sampler.peaks[0]["rss_bytes"] > 0 and sampler.samples[0]


def test_cluster_configs_name_every_worker_once():
    configs = processes.cluster_configs(3)
    assert [config["task"] for config in configs] == [
        {"type": "worker", "index": index} for index in range(3)
    ]
    assert len({*configs[0]["cluster"]["worker"]}) == 3
    assert all(config["cluster"] == configs[0]["cluster"] for config in configs)


def test_wait_all_kills_what_outlives_the_timeout():
    quick = subprocess.Popen([sys.executable, "-c", "pass"])
    slow = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    assert processes.wait_all([quick, slow], timeout=5) == [0, None]
    assert slow.poll() is not None
