"""Live sensing: follow a capture as it is written (or arrives over UDP) and predict as packets arrive.

Qt-free, like the rest of the backend. Layers inside (each uses those below it)::

    pipeline        LivePipeline: windows -> model input -> Predictor -> LiveResult; newest window wins
    output          JSON lines of predictions (the ``infer`` record format) and overlay PNGs
    follower | udp | replay     the sources (see source.py)
    record_stream   bytes of a log -> recordings of its complete records
    log_codecs      each capture tool's record structure, read with its whole-file reader

Usage::

    source = open_source(SourceSpec("follow", path="csi.dat"))
    pipeline = LivePipeline(source, predictor, hop=5)
    summary = pipeline.run(on_result=print, stop=threading.Event(), max_windows=100)
"""
