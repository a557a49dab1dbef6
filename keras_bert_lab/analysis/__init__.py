"""Looking inside trained models: static versus contextual word vectors on ambiguous words
(`probe`), attention heatmaps (`attention_plots`), loading the models to look at (`loading`),
and the flags and run folder of the analysis experiments (`runs`)."""
