"""Looking inside trained models: word vectors of ambiguous words in context (`probe`) and
how well they separate the senses (`separation`), loading the models to look at (`loading`),
the flags and run folder of the analysis experiments (`runs`), and the results tables
(`results`)."""
