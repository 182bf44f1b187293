"""The vocabulary of buttons: every action a button can carry, with its short wire code.

The codes travel in Telegram's callback data (64 bytes in all) and Discord's custom_id, so they
stay a few letters long; a code once shipped keeps its meaning (old messages keep their buttons).
"""

from enum import StrEnum


class Action(StrEnum):
    # The training journey: the button also carries its conversation's token.
    pick_dataset = "ds"  # continue with an existing dataset; arg: its id
    new_dataset = "new"  # start a new dataset: ask for its name
    images_done = "done"  # every image is in: ask for the trigger word
    use_trigger = "trg"  # take the suggested trigger word
    pick_offering = "off"  # train this offering; arg: its id
    pick_preset = "pre"  # with this preset, and show the price; arg: the preset's name
    confirm = "ok"  # pay and queue; arg: the id of the summary that showed the price
    cancel = "no"  # leave the journey, nothing charged
    # The journey's advanced settings (`bots.common.advanced`), after the preset.
    advanced = "adv"  # the settings with their values (Discord: one modal for them all)
    tune = "atn"  # ask one setting's value; arg: its code (`tuning.PARAMS`)
    set_value = "aval"  # take this value, show the summary; arg: "<code>=<value>"
    tuned = "asum"  # back to the summary with the settings as they are
    reset_tuning = "arst"  # the preset's values again, and their price
    # Lists and progress messages.
    open_dataset = "dso"  # a dataset's details and images; arg: its id
    add_images = "dsa"  # open the journey at the image step of a dataset; arg: its id
    delete_dataset = "dsd"  # arg: the dataset's id
    recaption = "dsc"  # ask for an image's new caption; arg: "<dataset id>.<image id>"
    # Dataset care (`bots.common.dataset_care`).
    care_sheet = "dsv"  # a page of the contact sheet; arg: "<dataset id>.<page>"
    care_ask = "dsk"  # ask for a typed change (name, description, tags, number); arg: `CareAsk`
    remove_image = "dsr"  # remove an image at once; arg: "<dataset id>.<image id>"
    download_model = "mdl"  # send a model's files; arg: its id
    cancel_job = "jc"  # cancel a job, refunded by the rules; arg: its id
    # Points (bots-pay).
    buy_pack = "buy"  # order a pack and send its invoice (Telegram Stars); arg: the pack's id
    # The marketplace: browsing, publishing one's own items (arguments packed by `market`).
    explore = "xp"  # a page of public items; arg: the packed `Listing`
    open_listed = "xo"  # a public item's card; arg: "d<id>" or "m<id>"
    train_on = "xt"  # open the journey on a (published) dataset as it is; arg: its id
    publish = "pb"  # the next step of publishing; arg: the packed `Publication`
    # Automatic captions in the training journey (the first two carry the journey's token).
    caption_price = "cap"  # price automatic captions of the uncaptioned images: Confirm next
    skip_captions = "cns"  # on to the trigger word without automatic captions
    fix_caption = "cfx"  # fix one caption of the numbered list; arg: the dataset's id
    captions_done = "cgo"  # captions reviewed: on to the trigger word; arg: the dataset's id
    # Generating images; the conversation's buttons carry its token.
    gen_model = "gm"  # generate with this model: ask for the prompt; arg: its id
    use_prompt = "gp"  # take the suggested prompt and show the price
    gen_confirm = "gok"  # pay and queue; arg: the id of the summary that showed the price
    gen_cancel = "gno"  # leave the conversation, nothing charged
    try_model = "try"  # a new generate conversation on a model; arg: its id
    strength_sheet = "gss"  # the same prompt and seed at several strengths; arg: generation id
    new_seed = "gns"  # the same request with a new seed; arg: the generation's id
    # A training's checkpoints: its live sample, and the saved steps of its model.
    keep_sample = "kp"  # end the training with this checkpoint; arg: "<job id>.<step>"
    checkpoints = "ckl"  # a model's saved checkpoints, a button each; arg: the model's id
    checkpoint_files = "ckd"  # the files of one checkpoint; arg: "<model id>.<step>"
    # The activity feed.
    mark_all_read = "ard"  # mark every item of /activity read and show it again in place
    # The person's language.
    language = "lng"  # answer in this language; arg: "en", "ru", or "auto" (the app's own)
