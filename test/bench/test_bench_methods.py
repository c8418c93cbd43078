# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""``bench.methods``: the statistics, the plateau rule and a smoke run of the protocol."""

import dataclasses
import json
import math
from pathlib import Path
import re

import pytest
from script_loader import load_script

from training.run_log import last_quarter_gain, plateaued, val_curve

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def methods():
    import bench.methods

    return bench.methods


def _plan(methods, out, protocol='smoke', **kw):
    """A plan as the tests' runs use it: no pretraining unless asked, one run at a time."""
    kw.setdefault('pretrain', False)
    return methods.Plan(out=out, budget=methods.PROTOCOLS[protocol], protocol=protocol, **kw)


def test_summary_is_mean_sample_std_and_a_t_interval(methods):
    s = methods.summarise([0.1, 0.2, 0.3])
    assert s['mean'] == pytest.approx(0.2)
    assert s['std'] == pytest.approx(0.1)  # sample std (n - 1)
    assert s['ci95'] == pytest.approx(4.303 * 0.1 / math.sqrt(3))  # t(0.975, 2 dof)
    assert methods.summarise([0.5]) == {'mean': 0.5, 'std': None, 'ci95': None}


def test_plateau_compares_the_last_quarter_with_the_best_before(methods):
    rising = [(100, 0.20), (200, 0.30), (300, 0.35), (400, 0.42)]
    flat = [(100, 0.20), (200, 0.40), (300, 0.41), (400, 0.404)]
    assert plateaued(rising) is False
    assert plateaued(flat) is True
    assert plateaued(flat[:2]) is None  # too few evaluations to tell
    # the best after step 300 (0.42) minus the best up to it (0.35); flat: 0.404 - 0.41
    assert last_quarter_gain(rising) == pytest.approx(0.07)
    assert last_quarter_gain(flat) == pytest.approx(-0.006)
    assert last_quarter_gain(flat[:2]) is None


def test_smoke_protocol_writes_the_documented_json(methods, tmp_path):
    out = tmp_path / 'methods.json'
    rc = methods.main(['--protocol', 'smoke', '--seeds', '0', '--methods', 'rgb,primkd,crodino',
                       '--out', str(tmp_path / 'runs'), '--json', str(out)])
    assert rc == 0
    report = json.loads(out.read_text())
    assert report['protocol']['name'] == 'smoke' and report['protocol']['finite_train_set']
    # what it was measured with: the torch build and the checkout's commit ('' outside git)
    assert report['software']['torch']
    assert report['software']['torch_cpu_capability'] in {'DEFAULT', 'NO AVX', 'AVX2', 'AVX512',
                                                         'Z VECTOR', 'VSX', 'SVE256', 'SVE'}
    assert isinstance(report['software']['cpu'], str)
    assert re.fullmatch(r'([0-9a-f]{40})?', report['software']['git_commit'])
    rows = {(r['method'], r['model']): r for r in report['rows']}
    assert set(rows) == {('rgb', 'rgb'), ('primkd', 'rgbd'), ('crodino', 'rgb'),
                         ('crodino', 'depth')}
    for r in rows.values():
        assert {'miou_mean', 'miou_std', 'miou_ci95', 'per_seed', 'per_class',
                'wall_s'} <= set(r)
        assert set(r['per_seed']) == {'0'} and len(r['per_class']) == 14
    # the paired delta is the row's score minus its baseline's, seed by seed
    cro, rgb = rows[('crodino', 'rgb')], rows[('rgb', 'rgb')]
    assert cro['delta_per_seed'][0] == pytest.approx(cro['per_seed']['0'] - rgb['per_seed']['0'])
    # teachers: trained for teacher_factor x the student budget, once for every seed
    assert set(report['teachers']) == {'teacher_rgb', 'teacher_depth', 'teacher_rgbd'}
    assert report['teachers']['teacher_rgb']['steps'] == 3 * report['protocol']['student_iters']
    assert len(report['teachers']['teacher_depth']['per_class']) == 14  # the calibration's table
    # PrimKD's wall-clock includes its teacher's
    assert rows[('primkd', 'rgbd')]['wall_s'] > report['teachers']['teacher_rgb']['wall_s']
    assert report['calibration']['depth_over_rgb'] > 0
    # every run starts from the RGB pretraining's backbone, its depth stream from the depth one's
    assert report['protocol']['depth'] == 'raw' and report['protocol']['depth_pretrained']
    root = tmp_path / 'runs' / 'smoke_nyu_like'
    # a finished run keeps its exports, not its resume state (--keep-last keeps it)
    assert (root / 'seed0' / 'rgb' / 'model.safetensors').is_file()
    assert not list(root.rglob('last.safetensors'))
    backbones = {}
    for run, stream in (('pretrain', 'rgb'), ('pretrain_depth', 'depth')):
        pre = report['pretrain'][run]
        assert pre['steps'] == report['protocol']['pretrain_iters'] and pre['stream'] == stream
        backbones[stream] = root / run / 'backbone.safetensors'
        assert pre['backbone'] == str(backbones[stream]) and backbones[stream].is_file()
    assert 'modality: hha' in (root / 'pretrain_depth' / 'config.yaml').read_text()
    for run in ('teachers/teacher_rgbd', 'seed0/rgb', 'seed0/crodino'):
        cfg = (root / run / 'config.yaml').read_text()
        assert f"pretrained: {backbones['rgb']}" in cfg, run
        assert f"pretrained_depth: {backbones['depth']}" in cfg, run
        assert 'synthetic_depth: raw' in cfg, run  # the sensor's depth, holes and all
    # bench/depth_cues.py: the same teachers under swapped sensors; with the world's own sensor,
    # rendered without the cache, it must reproduce the benchmark's own test score
    cues = load_script(REPO / 'bench' / 'depth_cues.py', 'depth_cues')
    cue_json = tmp_path / 'cues.json'
    assert cues.main(['--root', str(root), '--frames', str(report['protocol']['test_frames']),
                      '--json', str(cue_json)]) == 0
    got = json.loads(cue_json.read_text())['test_miou']
    assert set(got['teacher_depth']) == {'as trained', 'edge band 3 px at 640', 'no edge holes'}
    assert set(got['teacher_rgb']) == {'as trained'}
    for t in ('teacher_rgb', 'teacher_depth', 'teacher_rgbd'):
        assert got[t]['as trained'] == pytest.approx(report['teachers'][t]['test_miou'], abs=1e-6)


def test_teachers_alone_for_a_doubling_test(methods, tmp_path):
    # --seeds '' --teachers rgb: the pretraining and the RGB teacher only, no calibration
    out = tmp_path / 'teachers.json'
    rc = methods.main(['--protocol', 'smoke', '--seeds', '', '--teachers', 'rgb', '--out',
                       str(tmp_path / 'runs'), '--json', str(out)])
    assert rc == 0
    report = json.loads(out.read_text())
    assert set(report['teachers']) == {'teacher_rgb'} and report['rows'] == []
    assert report['calibration'] is None
    assert report['teachers']['teacher_rgb']['steps'] == 3 * report['protocol']['student_iters']
    assert not (tmp_path / 'runs' / 'smoke_nyu_like' / 'teachers' / 'teacher_depth').exists()
    with pytest.raises(SystemExit):
        methods.main(['--protocol', 'smoke', '--seeds', '', '--teachers', 'rgb,lidar',
                      '--out', str(tmp_path / 'runs'), '--json', str(out)])


def test_the_command_line_becomes_a_plan_in_a_folder_named_after_it(methods, tmp_path):
    import subprocess
    import sys

    parser = methods.cli.build_parser()
    args = parser.parse_args(['--protocol', 'full', '--seeds', '0,1', '--methods', 'rgb,primkd',
                              '--depth', 'filled', '--no-depth-pretrain', '--pretrain-iters',
                              '4000', '--teacher-factor', '6', '--out', str(tmp_path)])
    plan = methods.plan_from_args(args)
    assert plan.out == tmp_path / 'full_nyu_like_filled_rgbinit_pre4000_tf6'
    assert plan.seeds == (0, 1) and plan.methods == ('rgb', 'primkd')
    assert plan.pretrain and not plan.depth_pretrain
    assert plan.pretrains == ('pretrain',)  # the depth streams start from the RGB backbone
    assert plan.teachers == ('teacher_depth', 'teacher_rgb', 'teacher_rgbd')  # calibration
    assert plan.budget.teacher_factor == 6 and plan.budget.pretrain_steps('pretrain') == 4000
    nyu = methods.plan_from_args(parser.parse_args(['--data', str(tmp_path), '--methods',
                                                    'cmkd_rgb']))
    assert (nyu.data, nyu.root, nyu.pretrain) == ('nyu', str(tmp_path), False)
    assert nyu.teachers == ('teacher_rgbd',)  # only what its methods need
    with pytest.raises(ValueError, match='unknown methods'):
        methods.plan_from_args(parser.parse_args(['--methods', 'rgb,teacher_rgb']))
    proc = subprocess.run([sys.executable, '-m', 'bench.methods', '--help'], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and '--teacher-factor' in proc.stdout, proc.stderr


def test_schedule_starts_each_run_after_what_it_needs(methods):
    import threading
    import time

    lock = threading.Lock()
    events = []

    def job(run, seed):
        with lock:
            events.append(('start', run, seed))
        time.sleep(0.01 if run.startswith('teacher') or run == 'pretrain' else 0.002)
        with lock:
            events.append(('end', run, seed))
        return run, seed, 1.0

    todo = ([('pretrain', 100), ('pretrain_depth', 100), ('teacher_rgb', 100),
             ('teacher_rgbd', 100)]
            + [(m, s) for s in (0, 1) for m in ('rgb', 'primkd', 'cmkd_rgb')])
    results = methods.schedule(todo, job, 2, lambda r: methods.run_needs(r, True, True))
    assert sorted((r, s) for r, s, _ in results) == sorted(todo)
    ended = set()
    for kind, run, _ in events:
        if kind == 'end':
            ended.add(run)
        else:
            assert methods.run_needs(run, True, True) <= ended, run
    # everything waits for the two pretraining runs, which run side by side
    # (the first two starts: under load one may end before the other's thread records its start)
    starts = [e for e in events if e[0] == 'start']
    assert set(starts[:2]) == {('start', 'pretrain', 100), ('start', 'pretrain_depth', 100)}
    assert methods.run_needs('teacher_depth', True, True) == {'pretrain', 'pretrain_depth'}
    assert methods.run_needs('teacher_depth', True) == {'pretrain'}
    with pytest.raises(RuntimeError, match='teacher_rgbd'):
        methods.schedule([('cmkd_rgb', 0)], job, 2, lambda r: methods.run_needs(r, False))


def test_an_ablation_variant_shares_baselines_and_teachers_only(methods):
    assert methods.run_dir('rgb', 'T1') == 'rgb' and methods.run_dir('rgbd', 'T1') == 'rgbd'
    assert methods.run_dir('teacher_rgbd', 'T1') == 'teacher_rgbd'
    assert methods.run_dir('cmkd_rgb', 'T1') == 'cmkd_rgb@T1'
    assert methods.run_dir('crodino', 'detach') == 'crodino@detach'
    assert methods.run_dir('crodino', '') == 'crodino'
    with pytest.raises(SystemExit):  # an ablation must not change what the baselines train
        methods.main(['--variant', 'lr', '--set', 'optim.lr=0.1', '--methods', 'rgb'])


def test_an_ablation_override_reaches_its_own_runs_not_the_shared_baseline(methods, tmp_path):
    plan = _plan(methods, tmp_path, sets=('distill.temperature=1.0',), variant='T1')
    main = dataclasses.replace(plan, sets=(), variant='')
    for run in ('rgb', 'rgbd', 'teacher_rgbd'):  # shared: the same overrides as the main run's
        assert methods.run_sets(run, 0, plan, None) == methods.run_sets(run, 0, main, None)
    teacher = tmp_path / 'teachers' / 'teacher_rgbd' / 'model.safetensors'
    for run in ('cmkd_rgb', 'crodino'):
        sets = methods.run_sets(run, 0, plan, teacher if run == 'cmkd_rgb' else None)
        assert sets[-1] == 'distill.temperature=1.0'
        assert 'distill.temperature=1.0' not in methods.run_sets(run, 0, main, None)
    with pytest.raises(ValueError, match='may only change'):  # the plan checks it too
        dataclasses.replace(plan, sets=('optim.lr=0.1',))


def test_a_finished_run_is_reused_only_for_the_same_settings(methods, tmp_path, monkeypatch):
    from rgbd_seg_ros import sim
    plan = _plan(methods, tmp_path)
    out = tmp_path / 'seed0' / 'rgb'
    out.mkdir(parents=True)
    (out / 'model.safetensors').write_bytes(b'')
    sets = methods.run_sets('rgb', 0, plan, None)
    config = methods.CONFIGS / 'synthetic_rgb.yaml'
    good = methods.run_fingerprint(config, sets, plan)
    (out / 'bench_time.json').write_text(json.dumps({'seconds': 12.5, 'fingerprint': good}))
    assert methods.train_run('rgb', 0, out, plan, None) == 12.5  # reused, not trained
    # the same folder asked for by another world (or config, or override) is refused
    other = dataclasses.replace(plan, world='depth_favoured')
    with pytest.raises(RuntimeError, match='delete the folder'):
        methods.train_run('rgb', 0, out, other, None)
    assert methods.run_fingerprint(config, sets + ['optim.lr=0.1'], plan) != good
    # a world of the same name whose knobs changed in the code is another world
    changed = dataclasses.replace(sim.world_style('nyu_like'), door_proud_m=0.03)
    monkeypatch.setattr(sim, 'world_style', lambda world: changed)
    with pytest.raises(RuntimeError, match='delete the folder'):
        methods.train_run('rgb', 0, out, plan, None)


def test_an_interrupted_run_resumes_from_its_interim_state(methods, tmp_path, monkeypatch):
    import subprocess

    from bench.methods import runs

    plan = _plan(methods, tmp_path)  # smoke: a teacher trains 3 x 2 = 6 steps
    out = tmp_path / 'teachers' / 'teacher_rgb'
    monkeypatch.setattr(runs, 'RESUME_EVERY', 2)
    real_run, calls = subprocess.run, []

    def killed_at_first(cmd, **kw):  # the first launch dies after step 2, as a killed job does
        calls.append(cmd)
        if len(calls) == 1:
            real_run(cmd + ['--stop-after', '2'], **kw)
            return subprocess.CompletedProcess(cmd, -9)
        return real_run(cmd, **kw)

    monkeypatch.setattr(subprocess, 'run', killed_at_first)
    with pytest.raises(RuntimeError, match='exit status -9'):
        methods.train_run('teacher_rgb', 100, out, plan, None)
    assert (out / 'last.safetensors').is_file() and not (out / 'bench_time.json').exists()
    assert methods.train_run('teacher_rgb', 100, out, plan, None) > 0
    assert '--resume' not in calls[0] and '--resume' in calls[1]
    log = (out / 'bench_stdout.log').read_text()  # the second launch's
    assert re.search(r'resumed from \S+last\.safetensors at step 2', log)
    # the interim state every RESUME_EVERY steps (4), then the end's (6)
    assert len(re.findall(r'saved checkpoint \S+last\.safetensors', log)) == 2
    assert [step for step, _ in val_curve(out)['model']] == [2, 4, 6]  # each step once
    # finished: the stamp is written and the resume state removed
    assert (out / 'bench_time.json').is_file() and not (out / 'last.safetensors').exists()


def test_tables_name_each_pretraining_run_old_reports_included(methods):
    run = {'stream': 'rgb', 'steps': 1500, 'data_seed': 1000, 'best_val': 0.47, 'wall_s': 390.0}
    new = {'rows': [], 'pretrain': {'pretrain': run, 'pretrain_depth': {**run, 'stream': 'depth',
                                                                        'best_val': 0.41}}}
    text = methods.format_tables(new)
    assert 'pretrain (rgb, endless stream of rooms, data seed 1000): 1500 steps' in text
    assert 'pretrain_depth (depth,' in text and 'best val mIoU 41.0 %' in text
    old = {'rows': [], 'pretrain': {k: v for k, v in run.items() if k != 'stream'}}
    assert 'pretrain (rgb,' in methods.format_tables(old) and 'pretrain_depth' not in \
        methods.format_tables(old)


def test_pretraining_and_teacher_budgets_can_be_changed_in_their_own_folder(methods, tmp_path):
    budget, suffix = methods.protocol_budget('full', pretrain_iters=5000, teacher_factor=4)
    assert suffix == '_pre5000_tf4'
    assert methods.PROTOCOLS['full'].teacher_factor == 3  # the table itself is untouched
    plan = methods.Plan(out=tmp_path, budget=budget, protocol='full')

    def steps(run):
        sets = methods.run_sets(run, 100, plan, None)
        return [s for s in sets if s.startswith('train.max_iters=')]

    assert steps('pretrain') == ['train.max_iters=5000']
    assert steps('pretrain_depth') == ['train.max_iters=2500']  # the protocol's
    assert steps('teacher_rgbd') == ['train.max_iters=2000']  # 4 x 500
    assert steps('rgb') == ['train.max_iters=500']
    assert methods.protocol_budget('full') == (methods.PROTOCOLS['full'], '')
    # the full protocol's own budgets: RGB pretraining 4000 steps (the calibration's), depth 2500
    default = methods.PROTOCOLS['full']
    assert [default.pretrain_steps(r) for r in ('pretrain', 'pretrain_depth')] == [4000, 2500]
    with pytest.raises(ValueError, match='>= 3'):
        methods.protocol_budget('full', teacher_factor=2)


def test_primkd_experiment_script_finds_the_main_runs_folder(methods, tmp_path):
    import subprocess
    flags = ['--pretrain-iters', '4000', '--teacher-factor', '4']
    proc = subprocess.run(['bash', str(REPO / 'bench' / 'primkd_why.sh'), 'nyu_like',
                           str(tmp_path), *flags], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2  # nothing trained there: refused before any training
    _, suffix = methods.protocol_budget('full', pretrain_iters=4000, teacher_factor=4)
    expected = tmp_path / f'full_nyu_like{suffix}' / 'seed0' / 'rgb' / 'model.safetensors'
    assert f'no weaker teacher at {expected}' in proc.stderr


@pytest.mark.parametrize('script', ['ablations.sh', 'primkd_why.sh', 'crodino_why.sh'])
def test_experiment_scripts_only_set_keys_their_method_config_has(script):
    import re
    import shlex

    from training.config_io import load_config
    text = (REPO / 'bench' / script).read_text(encoding='utf-8').replace('\\\n', ' ')
    sets = [shlex.split(m)[0] for m in re.findall(r'--set ("[^"]*"|\w+\.\w+=\S+)', text)]
    sets = [s for s in sets if '$' not in s]  # a shell variable (the weaker teacher's path)
    assert len(sets) >= 2
    for item in sets:
        section = item.split('.')[0]
        assert section in ('distill', 'crodino'), item  # what bench.methods --variant allows
        name = 'synthetic_crodino.yaml' if section == 'crodino' else 'synthetic_primkd.yaml'
        cfg = load_config(str(REPO / 'training' / 'configs' / name),
                          ['distill.teacher=x.safetensors', item])
        key, value = item.split('=', 1)
        got = getattr(getattr(cfg, section), key.split('.', 1)[1])
        assert str(got).lower() == value.lower() or float(got) == float(value), item


def _stamped_run(methods, plan, run, out, teacher=None):
    """A finished run folder of ``run`` (empty exports) with today's fingerprint; its sets."""
    out.mkdir(parents=True, exist_ok=True)
    for export in methods.RUNS[run][2]:
        (out / f'{export}.safetensors').write_bytes(b'')
    sets = methods.run_sets(run, 0, plan, teacher)
    config = methods.CONFIGS / f'synthetic_{methods.RUNS[run][0]}.yaml'
    return config, sets


def test_a_folder_linked_under_another_name_is_reused_and_its_teacher_checked(methods, tmp_path):
    import os
    import shutil

    a = tmp_path / 'quick_nyu_like_tf16'
    plan = _plan(methods, a)
    teacher = a / 'teachers' / 'teacher_rgb'
    ckpt = teacher / 'model.safetensors'
    config, sets = _stamped_run(methods, plan, 'teacher_rgb', teacher)
    methods.write_stamp(teacher / 'bench_time.json', 100.0,
                        methods.run_fingerprint(config, sets, plan))
    student = a / 'seed0' / 'primkd'
    config, sets = _stamped_run(methods, plan, 'primkd', student, ckpt)
    methods.write_stamp(student / 'bench_time.json', 7.0,
                        methods.run_fingerprint(config, sets, plan))
    assert methods.train_run('primkd', 0, student, plan, ckpt) == 7.0
    # the same runs in a folder of another name (a copy; `cp -al` in
    # bench/log/2026-12-06-quick-teacher-strength-nyu_like.md): reused
    b = tmp_path / 'quick_nyu_like_tf3'
    shutil.copytree(a, b)
    plan_b = dataclasses.replace(plan, out=b)
    ckpt_b = b / 'teachers' / 'teacher_rgb' / 'model.safetensors'
    assert methods.train_run('primkd', 0, b / 'seed0' / 'primkd', plan_b, ckpt_b) == 7.0
    # a teacher trained otherwise (its stamp's fingerprint differs): its student is refused
    methods.write_stamp(b / 'teachers' / 'teacher_rgb' / 'bench_time.json', 50.0, 'f' * 64)
    with pytest.raises(RuntimeError, match='teacher'):
        methods.train_run('primkd', 0, b / 'seed0' / 'primkd', plan_b, ckpt_b)
    # a stamp of the revision before (path-bound hash) is accepted once and rewritten as a new
    # file: its hard-linked twin keeps the old content
    rgb = a / 'seed0' / 'rgb'
    config, sets = _stamped_run(methods, plan, 'rgb', rgb)
    legacy = methods.run_fingerprint(config, sets, plan, legacy=True)
    (rgb / 'bench_time.json').write_text(json.dumps({'seconds': 3.0, 'fingerprint': legacy}))
    twin = tmp_path / 'twin.json'
    os.link(rgb / 'bench_time.json', twin)
    assert methods.train_run('rgb', 0, rgb, plan, None) == 3.0
    assert json.loads((rgb / 'bench_time.json').read_text())['fingerprint'] == \
        methods.run_fingerprint(config, sets, plan) != legacy
    assert json.loads(twin.read_text())['fingerprint'] == legacy


def test_protocol_v2_smoke_from_imagenet_with_depth_valid_curves(methods, tmp_path):
    """
    --init imagenet: every arm on one ImageNet backbone, no pretraining runs; the fusion arms
    (plain, dropout + self-distillation) scored at depth-valid fractions.
    """
    out = tmp_path / 'v2.json'
    rc = methods.main(['--protocol', 'smoke', '--seeds', '0', '--init', 'imagenet',
                       '--methods', 'rgb,rgbd,rgbd_dropout_sd', '--depth-valid', '1,0.5,0',
                       '--out', str(tmp_path / 'runs'), '--json', str(out)])
    assert rc == 0
    report = json.loads(out.read_text())
    assert report['protocol']['init'] == 'imagenet'
    assert report['protocol']['backbone'] == 'mobilenetv2_100'
    assert report['protocol']['pretrained'] is False and not report['pretrain']
    folder = tmp_path / 'runs' / 'smoke_nyu_like_imagenet_mobilenetv2_100' / 'seed0'
    config = (folder / 'rgbd_dropout_sd' / 'config.yaml').read_text()
    assert 'method: dropout_sd' in config and 'backbone: mobilenetv2_100' in config
    assert 'pretrained: imagenet' in config
    rows = {r['method']: r for r in report['rows']}
    assert set(rows) == {'rgb', 'rgbd', 'rgbd_dropout_sd'}
    assert 'by_depth_valid' not in rows['rgb']
    for arm in ('rgbd', 'rgbd_dropout_sd'):
        assert set(rows[arm]['by_depth_valid']) == {'1', '0.5', '0'}
        assert rows[arm]['by_depth_valid']['1'] == pytest.approx(rows[arm]['miou_mean'])
    assert rows['rgbd_dropout_sd']['baseline'] == 'rgbd'
