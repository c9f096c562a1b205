"""The embedded offline tagger: ImageNet classifier, faces, places and facts."""
