"""The written forms of issue 22, each with the contexts where the other reading is right.

Expected readings are what a Vietnamese reader says aloud (``{a|b}`` lists the accepted ones), written from the
kinds of text notices use, not from the normalizer's output.
"""

from __future__ import annotations

import pytest

from loa.tts.evaluation import accepted_pattern
from loa.tts.normalize import normalize_vi

CASES = [
    # vehicle plates: province code as a number, the series letter by letter, the rest digit by digit
    ("Xe ô tô biển số 51G-678.90 vi phạm tốc độ.",
     "Xe ô tô biển số năm mươi mốt {giê|gờ} sáu bảy tám chín không vi phạm tốc độ."),
    ("Xe máy biển kiểm soát 29A1-123.45 bị mất.",
     "Xe máy biển kiểm soát hai mươi chín a một một hai ba bốn năm bị mất."),
    ("Xe tải 30E-12345 đỗ sai quy định.", "Xe tải ba mươi e một hai ba bốn năm đỗ sai quy định."),
    # ... a number with a dot is not a plate
    ("Dân số 12.345 người.", "Dân số mười hai nghìn ba trăm bốn mươi lăm người."),
    # house numbers: "xuyệt" after a word that introduces an address
    ("Gia đình ông A, số nhà 45/2 đường Lê Lợi.", "Gia đình ông A, số nhà bốn mươi lăm xuyệt hai đường Lê Lợi."),
    ("Hẻm 12/7/3 phường Hà Tu.", "Hẻm mười hai xuyệt bảy xuyệt ba phường Hà Tu."),
    ("Ki-ốt số 15/3 chợ xã.", "Ki-ốt số mười lăm xuyệt ba chợ xã."),
    # counts out of a total: "trên"
    ("Đến nay đã có 3/5 thôn hoàn thành.", "Đến nay đã có ba trên năm thôn hoàn thành."),
    ("Xã đạt 17/19 tiêu chí nông thôn mới.", "Xã đạt mười bảy trên mười chín tiêu chí nông thôn mới."),
    ("Có 45/50 hộ đã nộp hồ sơ.", "Có bốn mươi lăm trên năm mươi hộ đã nộp hồ sơ."),
    ("Tỷ lệ 1/3 số hộ chưa đăng ký.", "Tỷ lệ một trên ba số hộ chưa đăng ký."),
    ("Loa hoạt động 24/24 giờ.", "Loa hoạt động hai mươi tư trên hai mươi tư giờ."),
    # ... while a date stays a date, before the same nouns too
    ("Sáng 3/5 thôn Đông tổ chức họp.", "Sáng {ngày |}ba tháng năm thôn Đông tổ chức họp."),
    ("Ngày 22/5 các hộ mang sổ đến.", "Ngày hai mươi hai tháng năm các hộ mang sổ đến."),
    ("Từ 10/6 người dân được tiêm.", "Từ {ngày |}mười tháng sáu người dân được tiêm."),
    # a slash between words
    ("Đ/c Nguyễn Văn Bình, Chủ tịch UBND xã.", "Đồng chí Nguyễn Văn Bình, Chủ tịch ủy ban nhân dân xã."),
    ("Mời anh/chị mang theo căn cước.", "Mời anh {hoặc|} chị mang theo căn cước."),
    ("Năng suất lúa đạt 60 tạ/ha.", "Năng suất lúa đạt sáu mươi tạ trên héc ta."),
    ("Bón 200 kg/ha phân chuồng.", "Bón hai trăm ki lô gam trên héc ta phân chuồng."),
    ("Giá thóc 8.000 đồng/kg.", "Giá thóc tám nghìn đồng một ki lô gam."),
    ("Cấp 100 lít nước sạch/ngày.", "Cấp một trăm lít nước sạch một ngày."),
    ("Phòng chống HIV/AIDS.", "Phòng chống hát i vê ết."),
    # abbreviations read by what follows them
    ("Mực nước sông Thao trên BĐ2 0,3 m.", "Mực nước sông Thao trên báo động hai không phẩy ba mét."),
    ("Nước lũ vượt BĐIII.", "Nước lũ vượt báo động ba."),
    ("Mực nước ở mức BĐ 1 và đang lên.", "Mực nước ở mức báo động một và đang lên."),
    ("Họp tại nhà văn hóa KP 3.", "Họp tại nhà văn hóa khu phố ba."),
    ("Địa chỉ: 12 Lý Thường Kiệt, P.5, Q.3.", "Địa chỉ: mười hai Lý Thường Kiệt, phường năm, quận ba."),
    ("Nộp hồ sơ tại P.201 trụ sở xã.", "Nộp hồ sơ tại phòng hai trăm linh một trụ sở xã."),
    ("BCH Quân sự xã thông báo.", "Ban chỉ huy Quân sự xã thông báo."),
    ("BCH PCTT&TKCN xã họp khẩn.",
     "Ban chỉ huy phòng chống thiên tai và tìm kiếm cứu nạn xã họp khẩn."),
    ("BCH Đoàn xã phát động.", "Ban chấp hành Đoàn xã phát động."),
    ("CSGT huyện tuần tra.", "Cảnh sát giao thông huyện tuần tra."),
    ("Sinh hoạt TDP 4.", "Sinh hoạt tổ dân phố bốn."),
    ("Mực nước dao động quanh BĐ1-BĐ2.", "Mực nước dao động quanh báo động một {đến|tới} báo động hai."),
    ("Làm việc 7h30-17h00 (T2-T6).", "Làm việc bảy giờ ba mươi phút {đến|tới} mười bảy giờ (thứ hai {đến|tới} thứ sáu)."),
    ("Chợ họp T2-CN.", "Chợ họp thứ hai {đến|tới} chủ nhật."),
    ("Ông Trần Văn Bình, SN 1965.", "Ông Trần Văn Bình, sinh năm một nghìn chín trăm sáu mươi lăm."),
    ("Tàu QN-90123-TS mất liên lạc.", "Tàu quy en chín không một hai ba tê ét mất liên lạc."),
    ("Mất bằng lái số 220.123.456.789.", "Mất bằng lái số hai hai không một hai ba bốn năm sáu bảy tám chín."),
    ("Thu 1.234.567.890 đồng.", "Thu một tỷ hai trăm ba mươi {tư|bốn} triệu năm trăm sáu mươi bảy nghìn tám trăm chín mươi đồng."),
    ("Cháu cao khoảng 1m45.", "Cháu cao khoảng một mét bốn mươi lăm."),
    ("Tại trường bắn TB1.", "Tại trường bắn tê bê một."),
    ("Đi theo QL18 và ĐT337.", "Đi theo quốc lộ mười tám và đường tỉnh ba trăm ba mươi bảy."),
    ("Công ty CP Xi măng.", "Công ty cổ phần Xi măng."),
    ("Nghị định 49/2024/NĐ-CP.", "Nghị định bốn mươi chín năm hai nghìn không trăm hai mươi {tư|bốn} nghị định chính phủ."),
    ("Luật số 31/2024/QH15.", "Luật số ba mươi mốt năm hai nghìn không trăm hai mươi {tư|bốn} quốc hội mười lăm."),
    ("Mỗi tiết mục 7 phút/tiết mục.", "Mỗi tiết mục bảy phút một tiết mục."),
    ("Bò nặng 250 kg/con.", "Bò nặng hai trăm năm mươi ki lô gam một con."),
    ("Mật độ 20 con/m2.", "Mật độ hai mươi con trên mét vuông."),
    ("Lưu lượng 500 m3/h.", "Lưu lượng năm trăm mét khối trên giờ."),
    ("Hạn mức 400 m2/hộ.", "Hạn mức bốn trăm mét vuông một hộ."),
    ("Tỷ lệ bản đồ 1/2.000.", "Tỷ lệ bản đồ một trên hai nghìn."),
    ("Trực 24/7.", "Trực hai mươi {tư|bốn} trên bảy."),
    ("Ngày 24/7 họp.", "Ngày hai mươi {tư|bốn} tháng bảy họp."),
    ("Cúm A/H5N1.", "Cúm A H năm N một."),
    # web and e-mail addresses
    ("Gửi ý kiến về ubnd@quangninh.gov.vn.",
     "Gửi ý kiến về u bê en đê a còng quang ninh chấm {gốp|gờ o vê} chấm vê en."),
    ("Nộp hồ sơ trực tuyến tại dichvucong.gov.vn.",
     "Nộp hồ sơ trực tuyến tại dịch vụ công chấm {gốp|gờ o vê} chấm vê en."),
    ("Xem tại https://www.baochinhphu.vn", "Xem tại vê kép vê kép vê kép chấm báo chính phủ chấm vê en"),
    ("Xem tin tại ubnd.halong.gov.vn/tin-tuc",
     "Xem tin tại u bê en đê chấm ha long chấm {gốp|gờ o vê} chấm vê en gạch chéo tin gạch ngang tuc"),
    ("Hộp thư: hoidap2025@gmail.com", "Hộp thư: hỏi đáp {hai không hai năm|hai nghìn không trăm hai mươi lăm} a còng {gờ meo|gi meo} chấm com"),
    # "~" is a range; a hyphenated day-month before "âm lịch" is a lunar date
    ("Nhiệt độ 18~22 độ C.", "Nhiệt độ mười tám {đến|tới} hai mươi hai độ xê."),
    ("Lượng mưa 50 ~ 100 mm.", "Lượng mưa năm mươi {đến|tới} một trăm mi li mét."),
    ("Tết Trung thu 15-8 âm lịch.", "Tết Trung thu {ngày |}mười lăm tháng tám âm lịch."),
    ("Lễ hội ngày 10-3 âm lịch.", "Lễ hội ngày mười tháng ba âm lịch."),
    ("Hội Lim ngày 13-1 âm lịch.", "Hội Lim ngày mười ba tháng {giêng|Giêng} âm lịch."),
    ("Cúng ông Công ông Táo 23/12 ÂL.", "Cúng ông Công ông Táo {ngày |}hai mươi ba tháng {chạp|Chạp} âm lịch."),
    # ... while a hyphen between numbers elsewhere is a range
    ("Dự kiến 15-8 người tham gia.", "Dự kiến mười lăm {đến|tới} tám người tham gia."),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[f"{n:02d}" for n in range(len(CASES))])
def test_written_form(text: str, expected: str) -> None:
    out = normalize_vi(text)
    # sentence-initial capitals are not a reading difference
    pattern = accepted_pattern(expected[0].lower() + expected[1:])
    assert pattern.fullmatch(out[0].lower() + out[1:]), f"{out!r} is not a reading of {expected!r}"
